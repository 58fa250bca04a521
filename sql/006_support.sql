-- 006: what support staff read. The views in schema support answer "did my
-- invoice to X arrive, and why not?" without the raw tables; the NOLOGIN
-- role bouncer_support may read these views and nothing else (GRANT
-- bouncer_support TO a login). Each view is meant to be asked with a
-- condition an index answers: docs/support.md has the queries and
-- scripts/bench-sql.sh (make bench-sql) times them on 10 million bounces.
--
-- bounces, events and inbound_messages stay unpartitioned for now:
-- docs/support.md says why and how they will be partitioned by month.

CREATE SCHEMA support;

-- Indexes the views need beyond those of 002 and 004.
-- address_history: every suppression of an address, removed ones too (the
-- unique index of 002 holds the live ones only).
CREATE INDEX IF NOT EXISTS suppressions_address ON suppressions (address, since);
-- address_history and autoreply_decisions by sender (004 has replied only).
CREATE INDEX IF NOT EXISTS autoreplies_sender ON autoreplies (lower(sender), received_at);
-- show: what was recorded from one message.
CREATE INDEX IF NOT EXISTS autoreplies_inbound ON autoreplies (inbound_id);
-- outbox_health and `bouncerctl outbox` without reading the sent mail,
-- which is nearly all of the table.
CREATE INDEX IF NOT EXISTS outbox_queued_created ON outbox (created_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS outbox_held_created ON outbox (created_at) WHERE state = 'held';
CREATE INDEX IF NOT EXISTS outbox_unsent_created ON outbox (created_at) WHERE state <> 'sent';
-- outbox_health: failures of the last day are the outbox.failed events.
CREATE INDEX IF NOT EXISTS events_outbox_failed ON events (created_at) WHERE type = 'outbox.failed';
-- bouncerctl reclassify: the reports whose bytes are still stored, in id order.
CREATE INDEX IF NOT EXISTS inbound_messages_stored_reports ON inbound_messages (id)
    WHERE raw IS NOT NULL AND mailbox IN ('bounce', 'postmaster', 'fbl');
-- org_summary and the per-organisation counts read only these columns:
-- an index-only scan, even for an organisation with a million bounces.
CREATE INDEX IF NOT EXISTS bounces_org_counts ON bounces (org_id, received_at)
    INCLUDE (kind, action, hard, reason);
DROP INDEX IF EXISTS bounces_org_received;

-- recent_bounces - every stored bounce with its organisation's name. Read
-- it newest first (ORDER BY received_at DESC LIMIT n) with a condition on
-- org_id, address (the recipient lower-cased), inbound_id or received_at.
CREATE VIEW support.recent_bounces AS
SELECT b.id, b.received_at, b.org_id, o.name AS org_name, b.message_id,
       b.recipient, lower(b.recipient) AS address, b.kind, b.action, b.status,
       b.reply_code, b.reason, b.hard, b.bounce_type, b.bounce_subtype, b.diagnostic,
       b.remote_mta, b.reporting_mta, b.rule, b.inbound_id
  FROM bounces b
  LEFT JOIN organisations o ON o.id = b.org_id;

-- recent_activity - one row per bounce or complaint of the last 30 days,
-- sorted into what it was: hard, soft, delayed (failed or delayed
-- bounces), delivered/relayed/expanded (success reports), auto-reply
-- (out-of-office and the like sent back to a VERP address), complaint.
-- The counts of org_summary and `bouncerctl stats` come from here.
CREATE VIEW support.recent_activity AS
SELECT b.received_at, b.org_id,
       CASE WHEN b.kind = 'autoreply' THEN 'auto-reply'
            WHEN b.action = 'failed' AND b.hard THEN 'hard'
            WHEN b.action = 'failed' THEN 'soft'
            ELSE b.action END AS what,
       b.reason, b.inbound_id
  FROM bounces b
 WHERE b.received_at > now() - interval '30 days'
UNION ALL
SELECT c.received_at, c.org_id, 'complaint', c.feedback_type, c.inbound_id
  FROM complaints c
 WHERE c.received_at > now() - interval '30 days';

-- org_summary - per organisation (as the app wrote it), what came back
-- over the last 1, 7 and 30 days. Ask for one (WHERE org_id = N): the
-- condition reaches the indexes through the grouping.
CREATE VIEW support.org_summary AS
SELECT o.id AS org_id, o.name AS org_name, o.reply_to, o.forward_bounces,
       coalesce(a.hard_1d, 0) AS hard_1d, coalesce(a.hard_7d, 0) AS hard_7d,
       coalesce(a.hard_30d, 0) AS hard_30d,
       coalesce(a.soft_1d, 0) AS soft_1d, coalesce(a.soft_7d, 0) AS soft_7d,
       coalesce(a.soft_30d, 0) AS soft_30d,
       coalesce(a.complaints_1d, 0) AS complaints_1d,
       coalesce(a.complaints_7d, 0) AS complaints_7d,
       coalesce(a.complaints_30d, 0) AS complaints_30d,
       coalesce(a.autoreplies_1d, 0) AS autoreplies_1d,
       coalesce(a.autoreplies_7d, 0) AS autoreplies_7d,
       coalesce(a.autoreplies_30d, 0) AS autoreplies_30d,
       a.last_at
  FROM organisations o
  LEFT JOIN (
      SELECT r.org_id,
             count(*) FILTER (WHERE r.what = 'hard' AND r.received_at > now() - interval '1 day') AS hard_1d,
             count(*) FILTER (WHERE r.what = 'hard' AND r.received_at > now() - interval '7 days') AS hard_7d,
             count(*) FILTER (WHERE r.what = 'hard') AS hard_30d,
             count(*) FILTER (WHERE r.what = 'soft' AND r.received_at > now() - interval '1 day') AS soft_1d,
             count(*) FILTER (WHERE r.what = 'soft' AND r.received_at > now() - interval '7 days') AS soft_7d,
             count(*) FILTER (WHERE r.what = 'soft') AS soft_30d,
             count(*) FILTER (WHERE r.what = 'complaint' AND r.received_at > now() - interval '1 day') AS complaints_1d,
             count(*) FILTER (WHERE r.what = 'complaint' AND r.received_at > now() - interval '7 days') AS complaints_7d,
             count(*) FILTER (WHERE r.what = 'complaint') AS complaints_30d,
             count(*) FILTER (WHERE r.what = 'auto-reply' AND r.received_at > now() - interval '1 day') AS autoreplies_1d,
             count(*) FILTER (WHERE r.what = 'auto-reply' AND r.received_at > now() - interval '7 days') AS autoreplies_7d,
             count(*) FILTER (WHERE r.what = 'auto-reply') AS autoreplies_30d,
             max(r.received_at) AS last_at
        FROM support.recent_activity r
       GROUP BY r.org_id) a ON a.org_id = o.id;

-- address_history - everything about one address, across organisations:
-- what is bounce, auto-reply (an automatic reply to a VERP address),
-- complaint, suppression (live, expired or removed: see detail) or
-- reply-mailbox (the address wrote to the reply mailbox; reason says
-- whether it was answered). Ask WHERE address = lower('...') ORDER BY at.
-- ref_id is the row's id in its own table.
CREATE VIEW support.address_history AS
SELECT h.at, h.address, h.what, h.org_id, o.name AS org_name, h.message_id, h.status,
       h.reason, h.hard, h.detail, h.inbound_id, h.ref_id
  FROM (
      SELECT b.received_at AS at, lower(b.recipient) AS address,
             CASE WHEN b.kind = 'autoreply' THEN 'auto-reply' ELSE 'bounce' END AS what,
             b.org_id, b.message_id, b.status, b.reason, b.hard,
             concat_ws(': ', nullif(b.action, ''), nullif(b.diagnostic, '')) AS detail,
             b.inbound_id, b.id AS ref_id
        FROM bounces b
      UNION ALL
      SELECT c.received_at, lower(c.recipient), 'complaint', c.org_id, c.message_id, '',
             c.feedback_type, NULL::boolean,
             concat_ws(' ', 'complaint', nullif('from ' || nullif(c.reporting_mta, ''), '')),
             c.inbound_id, c.id
        FROM complaints c
      UNION ALL
      SELECT s.since, s.address, 'suppression', s.org_id, NULL::bigint, '', s.reason,
             NULL::boolean,
             concat_ws('; ',
                 CASE WHEN s.org_id IS NULL THEN 'for every organisation'
                      ELSE 'for this organisation' END,
                 nullif(s.detail, ''),
                 CASE WHEN s.removed_at IS NOT NULL
                      THEN 'removed ' || to_char(s.removed_at, 'YYYY-MM-DD HH24:MI') || ' by '
                           || coalesce(s.removed_by, '?')
                           || coalesce(' (' || nullif(s.removed_reason, '') || ')', '')
                      WHEN s.until IS NOT NULL AND s.until <= now()
                      THEN 'expired ' || to_char(s.until, 'YYYY-MM-DD HH24:MI')
                      WHEN s.until IS NOT NULL
                      THEN 'live until ' || to_char(s.until, 'YYYY-MM-DD HH24:MI')
                      ELSE 'live' END),
             NULL::bigint, s.id
        FROM suppressions s
      UNION ALL
      SELECT a.received_at, lower(a.sender), 'reply-mailbox', a.org_id, a.message_id, '',
             a.decision, NULL::boolean, a.rule, a.inbound_id, a.id
        FROM autoreplies a
  ) h
  LEFT JOIN organisations o ON o.id = h.org_id;

-- suppressions_live - what the app must not send to now: not removed, not
-- expired. scope all: for every organisation (org_id NULL).
CREATE VIEW support.suppressions_live AS
SELECT s.id, s.address, s.org_id, o.name AS org_name,
       CASE WHEN s.org_id IS NULL THEN 'all' ELSE 'organisation' END AS scope,
       s.reason, s.detail, s.since, s.until, s.source_event
  FROM suppressions s
  LEFT JOIN organisations o ON o.id = s.org_id
 WHERE s.removed_at IS NULL AND (s.until IS NULL OR s.until > now());

-- autoreply_decisions - mail to the reply mailbox: replied or skipped (rule
-- says why), and what became of the reply.
CREATE VIEW support.autoreply_decisions AS
SELECT a.id, a.received_at, a.sender, lower(a.sender) AS address, a.org_id,
       o.name AS org_name, a.message_id, a.decision, a.rule, a.inbound_id, a.outbox_id,
       x.state AS outbox_state, x.sent_at, x.last_error
  FROM autoreplies a
  LEFT JOIN organisations o ON o.id = a.org_id
  LEFT JOIN outbox x ON x.id = a.outbox_id;

-- outbox - mail bouncer sends (forwards, auto-replies) without the message.
CREATE VIEW support.outbox AS
SELECT x.id, x.created_at, x.kind, x.org_id, o.name AS org_name, x.inbound_id, x.mail_from,
       x.rcpt_to, x.state, x.attempts, x.next_attempt_at, x.expires_at, x.last_error,
       x.sent_at, octet_length(x.message) AS size
  FROM outbox x
  LEFT JOIN organisations o ON o.id = x.org_id;

-- outbox_health - one row: the queue (due: waiting past their time, which
-- a working sender keeps near 0), failures in the last day (the
-- outbox.failed events, so a retried row still counts) and held rows.
CREATE VIEW support.outbox_health AS
SELECT q.queued, q.due, q.oldest_queued_at,
       date_trunc('second', now() - q.oldest_queued_at) AS oldest_queued_age,
       (SELECT count(*) FROM events e
         WHERE e.type = 'outbox.failed'
           AND e.created_at > now() - interval '24 hours') AS failed_24h,
       (SELECT count(*) FROM outbox x
         WHERE x.state = 'held'
           AND x.created_at > now() - interval '24 hours') AS held_24h,
       (SELECT count(*) FROM outbox x WHERE x.state = 'held') AS held
  FROM (SELECT count(*) AS queued,
               count(*) FILTER (WHERE x.next_attempt_at <= now()) AS due,
               min(x.created_at) AS oldest_queued_at
          FROM outbox x
         WHERE x.state = 'queued') q;

-- messages - received messages without their bytes: envelope, mailbox,
-- what the parser made of it, whether the bytes are still stored.
CREATE VIEW support.messages AS
SELECT m.id, m.received_at, m.session_id, m.mail_from, m.rcpt_to, m.mailbox, m.kind, m.size,
       encode(m.sha256, 'hex') AS sha256, m.raw IS NOT NULL AS stored, m.purge_after,
       m.purged_at
  FROM inbound_messages m;

-- The role. Roles belong to the cluster, not the database: another
-- database of the cluster may have made it already.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bouncer_support') THEN
        CREATE ROLE bouncer_support NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'role bouncer_support does not exist and % may not create roles',
                    current_user
          USING HINT = 'as a superuser: CREATE ROLE bouncer_support NOLOGIN; '
                       'then run bouncerctl migrate again';
END
$$;

REVOKE ALL ON SCHEMA support FROM PUBLIC;
GRANT USAGE ON SCHEMA support TO bouncer_support;
GRANT SELECT ON ALL TABLES IN SCHEMA support TO bouncer_support;
-- Views later migrations add to the schema are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA support GRANT SELECT ON TABLES TO bouncer_support;
