#!/bin/sh
# bench-sql.sh - the support queries (sql/006_support.sql, docs/support.md)
# on a database of ROWS bounces.
#
#   sh scripts/bench-sql.sh BOUNCERCTL
#   ROWS=200000 sh scripts/bench-sql.sh bin/bouncerctl     a quick try
#
# Starts a private PostgreSQL in a temporary directory, migrates it with
# BOUNCERCTL, fills it with generate_series (ROWS bounces, default 10
# million, over 180 days, and in proportion: inbound messages, 100 000
# organisations per 10 million, complaints, suppressions, auto-reply
# decisions, outbox rows), VACUUM ANALYZEs, then runs each support query
# RUNS + 1 times (default 3 + 1) under EXPLAIN (ANALYZE, BUFFERS) and prints
# the median execution time of the last RUNS, warm cache, in one table.
# Everything is stopped and removed at exit; BENCH_KEEP=1 keeps the cluster
# (its directory is printed) for looking at plans by hand.
set -eu

ctl=${1:?usage: sh scripts/bench-sql.sh BOUNCERCTL}
rows=${ROWS:-10000000}
runs=${RUNS:-3}
target_ms=50
top=$(pwd)

case "$rows" in
    ''|*[!0-9]*) echo "bench-sql: ROWS must be a whole number, not '$rows'" >&2; exit 2 ;;
esac
if [ "$rows" -lt 10000 ]; then
    echo "bench-sql: ROWS must be at least 10000" >&2
    exit 2
fi

# A directory the postgres user can reach even when run as root.
work=$(mktemp -d /tmp/bench-sql.XXXXXX)
chmod 755 "$work"
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench-sql: kept the cluster: sh scripts/pgcluster.sh start $work/pg; psql \"$conninfo\""
        sh "$top/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
        return
    fi
    sh "$top/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
conninfo=""
trap cleanup EXIT
trap 'exit 1' INT TERM

say() {
    printf 'bench-sql: %s %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

sh scripts/pgcluster.sh start "$work/pg"
conninfo=$(sh scripts/pgcluster.sh conninfo "$work/pg")

q() {
    psql "$conninfo" -X -q -v ON_ERROR_STOP=1 "$@"
}

# A throw-away cluster: durability off for the load, memory for the index
# builds, and a cache of a size a production server would give.
q <<'EOF'
ALTER SYSTEM SET fsync = off;
ALTER SYSTEM SET synchronous_commit = off;
ALTER SYSTEM SET full_page_writes = off;
ALTER SYSTEM SET max_wal_size = '32GB';
ALTER SYSTEM SET checkpoint_timeout = '1h';
ALTER SYSTEM SET autovacuum = off;
ALTER SYSTEM SET shared_buffers = '1GB';
ALTER SYSTEM SET maintenance_work_mem = '1GB';
ALTER SYSTEM SET max_parallel_maintenance_workers = 2;
EOF
sh scripts/pgcluster.sh stop "$work/pg"
sh scripts/pgcluster.sh start "$work/pg"

"$ctl" migrate --conninfo "$conninfo" >&2

say "generating $rows bounces"
start=$(date +%s)
q -v rows="$rows" >/dev/null <<'EOF'
\set ON_ERROR_STOP 1
SET session_replication_role = replica;   -- no foreign key triggers while loading
SET work_mem = '256MB';

-- Sizes, all in proportion to the bounces.
SELECT :rows::bigint AS n_bounces,
       greatest(:rows / 100, 100)::bigint AS n_orgs,
       (:rows * 9 / 10)::bigint AS n_reports,           -- some reports name two recipients
       greatest(:rows / 100, 1)::bigint AS n_complaints,
       greatest(:rows / 20, 1)::bigint AS n_autoreplies,
       greatest(:rows / 10, 1)::bigint AS n_forwards,
       greatest(:rows / 4, 1)::bigint AS n_addresses,
       interval '180 days' AS span
\gset

-- u(i, stream): a uniform number in [0, 1), the same on every run.
CREATE FUNCTION pg_temp.u(i bigint, s bigint) RETURNS float8 IMMUTABLE LANGUAGE sql
    AS $$ SELECT (hashint8extended(i, s) & 2147483647)::float8 / 2147483648.0 $$;
-- org(i, stream): organisation ids skewed like real senders: the largest
-- gets about 2% of all mail, most get a few dozen bounces a year.
CREATE FUNCTION pg_temp.org(i bigint, s bigint, n bigint) RETURNS bigint IMMUTABLE LANGUAGE sql
    AS $$ SELECT 1 + floor(n * pg_temp.u(i, s) ^ 3)::bigint $$;
CREATE FUNCTION pg_temp.addr(n bigint) RETURNS text IMMUTABLE LANGUAGE sql
    AS $$ SELECT 'user' || n || '@d' || (n % 20000) || '.example' $$;

-- Secondary indexes are built after the load, as a restore would.
CREATE TABLE bench_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
 WHERE c.relnamespace = 'public'::regnamespace
   AND c.relname IN ('inbound_messages', 'bounces', 'complaints', 'suppressions',
                     'autoreplies', 'outbox', 'event_log')
   AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid);
SELECT format('DROP INDEX %s', name) FROM bench_indexes \gexec

INSERT INTO organisations (id, name, reply_to)
SELECT i, 'Organisation ' || i || ' Ltd', 'billing@org' || i || '.example'
  FROM generate_series(1::bigint, :n_orgs) i;

-- Received messages in time order, as they arrive: reports to the bounce
-- mailbox, then feedback reports, then mail to the reply mailbox. Bytes
-- are kept for the last 7 days only (the purge timer's default).
INSERT INTO inbound_messages (id, received_at, session_id, mail_from, rcpt_to, mailbox, kind,
                              size, sha256, raw, purge_after, purged_at)
SELECT i, t, to_hex(i), '', 'b' || md5(i::text) || '@notifications.example.com',
       m.mailbox, m.kind, 2000 + (i % 6000), sha256(int8send(i)),
       CASE WHEN t > now() - interval '7 days'
            THEN convert_to('From: MAILER-DAEMON@mta.example.net' || chr(10) || chr(10)
                            || repeat('delivery failed ', 20), 'UTF8') END,
       t + interval '7 days',
       CASE WHEN t <= now() - interval '7 days' THEN t + interval '7 days' END
  FROM generate_series(1::bigint, :n_reports + :n_complaints + :n_autoreplies) i
 CROSS JOIN LATERAL (SELECT
       CASE WHEN i <= :n_reports THEN 'bounce'
            WHEN i <= :n_reports + :n_complaints THEN 'fbl' ELSE 'reply' END AS mailbox,
       CASE WHEN i <= :n_reports THEN 'dsn'
            WHEN i <= :n_reports + :n_complaints THEN 'arf' ELSE 'notbounce' END AS kind) m
 CROSS JOIN LATERAL (SELECT now() - :'span'::interval
       + :'span'::interval * (CASE WHEN i <= :n_reports THEN i::float8 / :n_reports
                                   WHEN i <= :n_reports + :n_complaints
                                   THEN (i - :n_reports)::float8 / :n_complaints
                                   ELSE (i - :n_reports - :n_complaints)::float8 / :n_autoreplies
                              END) AS t) tt;

-- One bounce per recipient: half of the failures hard, the rest spread
-- over the common soft reasons; some delays, success reports and
-- out-of-office replies.
INSERT INTO bounces (id, inbound_id, received_at, org_id, message_id, recipient, kind, action,
                     status, reply_code, reason, hard, bounce_type, bounce_subtype, diagnostic,
                     remote_mta, reporting_mta, rule)
SELECT i, r.inbound, m.received_at, pg_temp.org(r.inbound, 1, :n_orgs), r.inbound * 3,
       pg_temp.addr(1 + floor(:n_addresses * pg_temp.u(i, 2))::bigint),
       c.kind, c.action, c.status, left(c.status, 1) || '50', c.reason,
       c.reason = 'userunknown' AND c.action = 'failed',
       CASE WHEN c.status LIKE '5%' THEN 'Permanent' WHEN c.status = '' THEN 'Undetermined'
            ELSE 'Transient' END,
       'General', c.status || ' ' || c.reason || ' (remote said so)',
       'mx' || (i % 1000) || '.example.net', 'mta.example.net', c.reason
  FROM generate_series(1::bigint, :n_bounces) i
 CROSS JOIN LATERAL (SELECT 1 + ((i - 1) * 9) / 10 AS inbound) r
  JOIN inbound_messages m ON m.id = r.inbound
 CROSS JOIN LATERAL (SELECT pg_temp.u(i, 3) AS k, pg_temp.u(i, 4) AS v) x
 CROSS JOIN LATERAL (SELECT
       CASE WHEN x.k < 0.03 THEN 'autoreply' WHEN x.k < 0.10 THEN 'nonstandard' ELSE 'dsn' END AS kind,
       CASE WHEN x.k < 0.03 THEN '' WHEN x.k < 0.80 THEN 'failed'
            WHEN x.k < 0.95 THEN 'delayed' ELSE 'delivered' END AS action,
       CASE WHEN x.k < 0.03 THEN ''
            WHEN x.k >= 0.95 THEN '2.0.0'
            WHEN x.k >= 0.80 THEN '4.4.7'
            WHEN x.v < 0.50 THEN '5.1.1' WHEN x.v < 0.70 THEN '4.2.2'
            WHEN x.v < 0.85 THEN '5.7.1' WHEN x.v < 0.95 THEN '4.4.1' ELSE '5.3.0' END AS status,
       CASE WHEN x.k < 0.03 THEN 'vacation'
            WHEN x.k >= 0.95 THEN 'delivered'
            WHEN x.k >= 0.80 THEN 'expired'
            WHEN x.v < 0.50 THEN 'userunknown' WHEN x.v < 0.70 THEN 'mailboxfull'
            WHEN x.v < 0.85 THEN 'blocked' WHEN x.v < 0.95 THEN 'networkerror'
            ELSE 'systemerror' END AS reason) c;

INSERT INTO complaints (id, inbound_id, received_at, org_id, message_id, recipient,
                        feedback_type, reporting_mta)
SELECT j, m.id, m.received_at, pg_temp.org(m.id, 5, :n_orgs), m.id * 3,
       pg_temp.addr(1 + (j * 7919) % :n_addresses), 'abuse', 'fbl.isp.example'
  FROM generate_series(1::bigint, :n_complaints) j
  JOIN inbound_messages m ON m.id = :n_reports + j;

-- Forwards of failures to the organisations: nearly all sent, some
-- failed or held, a small queue.
INSERT INTO outbox (id, created_at, kind, org_id, inbound_id, mail_from, rcpt_to, message, state,
                    attempts, next_attempt_at, expires_at, last_error, sent_at)
SELECT f, m.received_at, 'forward', pg_temp.org(m.id, 1, :n_orgs), m.id, '',
       'billing@org' || pg_temp.org(m.id, 1, :n_orgs) || '.example',
       convert_to('Subject: Undelivered invoice' || chr(10) || chr(10) || repeat('x', 200), 'UTF8'),
       s.state, CASE WHEN s.state = 'queued' THEN 0 ELSE 1 END,
       CASE WHEN s.state = 'queued' THEN now() + interval '1 minute' ELSE m.received_at END,
       m.received_at + interval '48 hours',
       CASE WHEN s.state = 'failed' THEN '550 5.1.1 mailbox unavailable'
            WHEN s.state = 'held' THEN 'hourly forward limit reached' ELSE '' END,
       CASE WHEN s.state = 'sent' THEN m.received_at + interval '2 seconds' END
  FROM generate_series(1::bigint, :n_forwards) f
  JOIN inbound_messages m ON m.id = f * 9
 CROSS JOIN LATERAL (SELECT
       CASE WHEN m.received_at > now() - interval '10 minutes' THEN 'queued'
            WHEN pg_temp.u(f, 6) < 0.02 THEN 'failed'
            WHEN pg_temp.u(f, 6) < 0.025 THEN 'held' ELSE 'sent' END AS state) s;

INSERT INTO event_log (type, org_id, payload, created_at)
SELECT 'outbox.failed', x.org_id, jsonb_build_object('outbox_id', x.id), x.created_at + interval '1 hour'
  FROM outbox x WHERE x.state = 'failed' ORDER BY x.id;
INSERT INTO event_publication (published_seq, settled_seq)
SELECT coalesce(max(id), 0), coalesce(max(id), 0) FROM event_log
    ON CONFLICT (only_row) DO UPDATE
   SET published_seq = excluded.published_seq, settled_seq = excluded.settled_seq;

-- The reply mailbox: two in five answered (an outbox row each), the rest
-- skipped by a rule.
INSERT INTO outbox (id, created_at, kind, org_id, inbound_id, mail_from, rcpt_to, message, state,
                    attempts, next_attempt_at, expires_at, sent_at)
SELECT :n_forwards + j, m.received_at, 'autoreply', pg_temp.org(m.id, 7, :n_orgs), m.id, '',
       pg_temp.addr(1 + (j * 104729) % :n_addresses),
       convert_to('Subject: Auto: your message' || chr(10) || chr(10) || repeat('x', 200), 'UTF8'),
       'sent', 1, m.received_at, m.received_at + interval '48 hours', m.received_at + interval '1 second'
  FROM generate_series(1::bigint, :n_autoreplies) j
  JOIN inbound_messages m ON m.id = :n_reports + :n_complaints + j
 WHERE j % 5 < 2;

INSERT INTO autoreplies (id, inbound_id, received_at, sender, org_id, message_id, decision, rule,
                         outbox_id)
SELECT j, m.id, m.received_at, pg_temp.addr(1 + (j * 104729) % :n_addresses),
       CASE WHEN j % 10 < 6 THEN pg_temp.org(m.id, 7, :n_orgs) END, m.id * 3,
       CASE WHEN j % 5 < 2 THEN 'replied' ELSE 'skipped' END,
       CASE WHEN j % 5 < 2 THEN ''
            ELSE (ARRAY['auto-submitted', 'precedence', 'list-header', 'noreply-sender',
                        'answered-recently'])[1 + j % 5] END,
       CASE WHEN j % 5 < 2 THEN :n_forwards + j END
  FROM generate_series(1::bigint, :n_autoreplies) j
  JOIN inbound_messages m ON m.id = :n_reports + :n_complaints + j;

-- Suppressions: hard bounces for everyone, complaints per organisation,
-- soft-bounce ones that expire, and lifted ones kept as audit.
INSERT INTO suppressions (address, org_id, reason, detail, since, until)
SELECT pg_temp.addr(n), NULL, 'hard-bounce', '5.1.1 userunknown',
       now() - interval '180 days' * pg_temp.u(n, 8), NULL
  FROM generate_series(1::bigint, :n_addresses * 6 / 10) n;
INSERT INTO suppressions (address, org_id, reason, detail, since, until)
SELECT pg_temp.addr(n), NULL, 'soft-bounces', '3 soft bounces, last 4.2.2 mailboxfull', s, s + interval '7 days'
  FROM generate_series(:n_addresses::bigint * 6 / 10 + 1, :n_addresses * 64 / 100) n
 CROSS JOIN LATERAL (SELECT now() - interval '30 days' * pg_temp.u(n, 9) AS s) t;
INSERT INTO suppressions (address, org_id, reason, detail, since)
SELECT lower(c.recipient), c.org_id, 'complaint', 'complaint abuse', c.received_at
  FROM complaints c;
INSERT INTO suppressions (address, org_id, reason, detail, since, removed_at, removed_by,
                          removed_reason)
SELECT pg_temp.addr(n), NULL, 'manual', 'asked by the organisation', now() - interval '90 days',
       now() - interval '60 days', 'support', 'customer confirmed the address'
  FROM generate_series(1, greatest(:n_addresses / 50, 1)) n;

SELECT setval('bounces_id_seq', (SELECT max(id) FROM bounces));
SELECT setval('inbound_messages_id_seq', (SELECT max(id) FROM inbound_messages));
SELECT setval('complaints_id_seq', (SELECT max(id) FROM complaints));
SELECT setval('outbox_id_seq', (SELECT max(id) FROM outbox));
SELECT setval('autoreplies_id_seq', (SELECT max(id) FROM autoreplies));

RESET session_replication_role;
SELECT def FROM bench_indexes \gexec
DROP TABLE bench_indexes;
EOF
say "loaded in $(( $(date +%s) - start )) s; vacuum and analyze"
q -c "VACUUM (ANALYZE)" >/dev/null
say "ready in $(( $(date +%s) - start )) s"

# What the queries ask about: the largest organisation, a typical one, an
# address with a long history, a sender that wrote to the reply mailbox.
# shellcheck disable=SC2046
set -- $(q -At -F ' ' <<'EOF'
SELECT (SELECT org_id FROM bounces GROUP BY org_id ORDER BY count(*) DESC LIMIT 1),
       (SELECT org_id FROM (SELECT org_id, count(*) n FROM bounces GROUP BY org_id) c
         ORDER BY n, org_id OFFSET (SELECT count(DISTINCT org_id) / 2 FROM bounces) LIMIT 1),
       (SELECT lower(recipient) FROM bounces WHERE id = (SELECT max(id) / 2 FROM bounces)),
       (SELECT lower(sender) FROM autoreplies WHERE id = (SELECT max(id) / 2 FROM autoreplies)),
       (SELECT max(id) - 5 FROM inbound_messages WHERE mailbox = 'bounce')
EOF
)
big=$1 mid=$2 addr=$3 sender=$4 msg=$5
counts=$(q -At -F ' ' -c "SELECT (SELECT count(*) FROM bounces WHERE org_id = $big),
    (SELECT count(*) FROM bounces WHERE org_id = $mid), (SELECT count(*) FROM organisations),
    (SELECT count(*) FROM inbound_messages), (SELECT count(*) FROM suppressions),
    (SELECT count(*) FROM complaints), (SELECT count(*) FROM autoreplies), (SELECT count(*) FROM outbox)")
say "largest organisation $big, typical $mid (bounces: $(echo "$counts" | cut -d' ' -f1), $(echo "$counts" | cut -d' ' -f2))"
say "organisations, messages, suppressions, complaints, auto-replies, outbox: $(echo "$counts" | cut -d' ' -f3-)"

# The queries: "label|SQL". The same shapes bouncerctl sends (docs/support.md).
cat >"$work/queries" <<EOF
recent_bounces: newest 50|SELECT * FROM support.recent_bounces ORDER BY received_at DESC LIMIT 50
recent_bounces: largest org, newest 50|SELECT * FROM support.recent_bounces WHERE org_id = $big ORDER BY received_at DESC LIMIT 50
recent_bounces: typical org, last 7 days|SELECT * FROM support.recent_bounces WHERE org_id = $mid AND received_at >= now() - interval '7 days' ORDER BY received_at DESC LIMIT 50
recent_bounces: one recipient|SELECT * FROM support.recent_bounces WHERE address = lower('$addr') ORDER BY received_at DESC LIMIT 50
recent_bounces: since 2 h|SELECT * FROM support.recent_bounces WHERE received_at >= now() - interval '2 hours' ORDER BY received_at DESC LIMIT 50
org_summary: largest org|SELECT * FROM support.org_summary WHERE org_id = $big
org_summary: typical org|SELECT * FROM support.org_summary WHERE org_id = $mid
address_history: one address|SELECT * FROM support.address_history WHERE address = lower('$addr') ORDER BY at DESC
suppressions_live: one address|SELECT * FROM support.suppressions_live WHERE address = lower('$addr')
suppressions_live: largest org's own|SELECT * FROM support.suppressions_live WHERE org_id = $big ORDER BY since DESC LIMIT 50
autoreply_decisions: one sender|SELECT * FROM support.autoreply_decisions WHERE address = lower('$sender') ORDER BY received_at DESC LIMIT 50
autoreply_decisions: newest 50|SELECT * FROM support.autoreply_decisions ORDER BY received_at DESC LIMIT 50
outbox_health|SELECT * FROM support.outbox_health
outbox: failed, newest 50|SELECT * FROM support.outbox WHERE state = 'failed' ORDER BY created_at DESC LIMIT 50
stats --org: largest org by reason|SELECT what, reason, count(*) FILTER (WHERE received_at > now() - interval '1 day'), count(*) FILTER (WHERE received_at > now() - interval '7 days'), count(*) FROM support.recent_activity WHERE org_id = $big GROUP BY what, reason
stats --org: largest org's suppressions|SELECT reason, count(*) FROM support.suppressions_live WHERE org_id = $big GROUP BY reason
show: one message|SELECT * FROM support.messages WHERE id = $msg
show: its bounces|SELECT * FROM support.recent_bounces WHERE inbound_id = $msg ORDER BY id
stats (all organisations) by reason *|SELECT what, reason, count(*) FILTER (WHERE received_at > now() - interval '1 day'), count(*) FILTER (WHERE received_at > now() - interval '7 days'), count(*) FROM support.recent_activity GROUP BY what, reason
stats (all organisations) suppressions *|SELECT scope, reason, count(*) FROM support.suppressions_live GROUP BY scope, reason
org_summary: top 20 by hard, 7 days *|SELECT * FROM support.org_summary ORDER BY hard_7d DESC LIMIT 20
EOF

# One psql session: each query RUNS + 1 times, the first to warm up.
awk -F'|' -v runs="$runs" '{
    for (i = 0; i <= runs; i++) {
        printf "\\echo @@ %d %d\n", NR, i
        printf "EXPLAIN (ANALYZE, BUFFERS) %s;\n", $2
    }
}' "$work/queries" >"$work/explain.sql"
q -f "$work/explain.sql" >"$work/explain.out"

# Per query: median execution time, rows and buffers of the top node.
awk -F'|' -v runs="$runs" -v target="$target_ms" -v rows="$rows" '
    FNR == NR { label[NR] = $1; n = NR; next }
    /^@@ / { split($0, f, " "); q = f[2]; run = f[3]; top = 1; next }
    top && /actual time=/ { match($0, /rows=[0-9]+ loops/); r[q] = substr($0, RSTART + 5, RLENGTH - 11); top = 0; buf = 1; next }
    buf && /Buffers:/ { sub(/^ *Buffers: */, ""); b[q] = $0; buf = 0; next }
    /Execution Time:/ { split($0, f, " "); if (run > 0) t[q, run] = f[3] + 0 }
    END {
        printf "\n%d bounces; median of %d runs after one warm-up; * whole-table aggregate (no target)\n\n", rows, runs
        printf "| %-42s | %9s | %6s | %-40s |\n", "query", "ms", "rows", "buffers"
        printf "|%s|%s|%s|%s|\n", "--------------------------------------------", "-----------:", "-------:", "------------------------------------------"
        missed = 0
        for (q = 1; q <= n; q++) {
            m = 0
            for (i = 1; i <= runs; i++) v[i] = t[q, i]
            for (i = 1; i <= runs; i++) for (j = i + 1; j <= runs; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
            m = (runs % 2) ? v[(runs + 1) / 2] : (v[runs / 2] + v[runs / 2 + 1]) / 2
            if (label[q] !~ /\*$/ && m >= target) { missed++; label[q] = label[q] " (over " target " ms)" }
            printf "| %-42s | %9.2f | %6s | %-40s |\n", label[q], m, r[q], b[q]
        }
        printf "\n%s\n", missed ? missed " queries over the target of " target " ms" : "every support query under " target " ms"
    }' "$work/queries" "$work/explain.out"
