-- 012: a suppression's history is kept, and lifting one starts the
-- soft-bounce count again.
--
-- A suppression made longer or permanent was rewritten in place (reason,
-- detail, since, until), and an expired one was reused the same way the
-- next time the address was suppressed: support saw only the last state,
-- and could not tell whether an address was suppressed when an invoice
-- was sent. Now the old row is closed and a new one written. Rows bouncer
-- closes itself have removed_by NULL (a person's removal always names who
-- made it) and removed_reason 'expired' (removed_at is then its until) or
-- 'superseded' (made longer or permanent; removed_at is when).
--
-- A person lifting a suppression, then one more soft bounce: the bounces
-- from before the removal still counted, and the address was suppressed
-- again at once. The count now starts after the latest removal made by a
-- person.
--
-- And an expired suppression could be "removed", which wrote a removal
-- event about a row no longer in force.

CREATE OR REPLACE FUNCTION bouncer_suppress(
    p_address text, p_org_id bigint, p_reason text, p_detail text,
    p_source_event bigint, p_until timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id    bigint;
    v_until timestamptz;
    v_addr  text := lower(p_address);
BEGIN
    LOOP
        SELECT id, until INTO v_id, v_until
          FROM suppressions
         WHERE address = v_addr AND coalesce(org_id, 0) = coalesce(p_org_id, 0)
           AND removed_at IS NULL
           FOR UPDATE;
        IF FOUND THEN
            IF v_until IS NOT NULL AND v_until <= now() THEN
                UPDATE suppressions SET removed_at = v_until, removed_reason = 'expired'
                 WHERE id = v_id;
            ELSIF v_until IS NULL OR (p_until IS NOT NULL AND v_until >= p_until) THEN
                -- Still in force and at least as long: nothing to do.
                RETURN NULL;
            ELSE
                UPDATE suppressions SET removed_at = now(), removed_reason = 'superseded'
                 WHERE id = v_id;
            END IF;
        END IF;
        -- Two transactions suppressing the same new address at once: the
        -- INSERT gives way on conflict and the loop looks again, waiting
        -- for the other's row.
        INSERT INTO suppressions (address, org_id, reason, detail, source_event, until)
        VALUES (v_addr, p_org_id, p_reason, p_detail, p_source_event, p_until)
        ON CONFLICT (address, (coalesce(org_id, 0))) WHERE removed_at IS NULL DO NOTHING
        RETURNING id INTO v_id;
        EXIT WHEN v_id IS NOT NULL;
    END LOOP;
    INSERT INTO events (type, org_id, payload)
    VALUES ('suppression', p_org_id, jsonb_build_object(
        'type', 'suppression', 'time', now(), 'org_id', p_org_id, 'recipient', v_addr,
        'reason', p_reason, 'detail', p_detail, 'until', p_until,
        'scope', CASE WHEN p_org_id IS NULL THEN 'all' ELSE 'organisation' END,
        'suppression_id', v_id, 'source_event', p_source_event));
    RETURN v_id;
END;
$$;

-- bouncer_unsuppress - as in 005, for a suppression still in force only.
CREATE OR REPLACE FUNCTION bouncer_unsuppress(
    p_address text, p_org_id bigint, p_removed_by text, p_removed_reason text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_row  suppressions%ROWTYPE;
BEGIN
    UPDATE suppressions
       SET removed_at = now(), removed_by = p_removed_by, removed_reason = p_removed_reason
     WHERE address = lower(p_address) AND coalesce(org_id, 0) = coalesce(p_org_id, 0)
       AND removed_at IS NULL AND (until IS NULL OR until > now())
    RETURNING * INTO v_row;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO events (type, org_id, payload)
    VALUES ('suppression', p_org_id, jsonb_build_object(
        'type', 'suppression', 'time', now(), 'org_id', p_org_id, 'recipient', v_row.address,
        'reason', v_row.reason, 'detail', v_row.detail, 'until', v_row.until,
        'scope', CASE WHEN p_org_id IS NULL THEN 'all' ELSE 'organisation' END,
        'suppression_id', v_row.id, 'source_event', v_row.source_event,
        'removed', true, 'removed_by', p_removed_by, 'removed_reason', p_removed_reason));
    RETURN v_row.id;
END;
$$;

-- bouncer_recent_soft_bounces - as in 008, counted from the latest
-- removal of a suppression of the address by a person.
CREATE OR REPLACE FUNCTION bouncer_recent_soft_bounces(p_recipient text, p_window interval,
                                                       p_limit integer)
RETURNS integer
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off
AS $$
DECLARE
    v_from timestamptz := now() - p_window;
    v_lifted timestamptz;
BEGIN
    SELECT max(removed_at) INTO v_lifted
      FROM suppressions
     WHERE address = lower(p_recipient) AND removed_by IS NOT NULL;
    IF v_lifted > v_from THEN
        v_from := v_lifted;
    END IF;
    RETURN (SELECT count(*)
              FROM (SELECT 1
                      FROM bounces
                     WHERE lower(recipient) = lower(p_recipient) AND action = 'failed'
                       AND NOT hard AND kind <> 'autoreply'
                       AND received_at > v_from
                     ORDER BY lower(recipient), received_at DESC
                     LIMIT p_limit) recent);
END;
$$;

-- address_history: the rows bouncer closed itself said "removed by ?".
CREATE OR REPLACE VIEW support.address_history AS
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
                 CASE WHEN s.removed_at IS NOT NULL AND s.removed_by IS NULL
                      THEN CASE WHEN s.removed_reason = 'superseded'
                                THEN 'made longer or permanent '
                                ELSE 'expired ' END
                           || to_char(s.removed_at, 'YYYY-MM-DD HH24:MI')
                      WHEN s.removed_at IS NOT NULL
                      THEN 'removed ' || to_char(s.removed_at, 'YYYY-MM-DD HH24:MI') || ' by '
                           || s.removed_by
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
