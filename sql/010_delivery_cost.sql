-- 010: less database work per returned message. Counted in instructions
-- (callgrind on a single-user backend running 2 000 deliveries of the
-- benchmark's mix, then publishing their 3 800 events):
--
-- * The event of a bounce took 61 000 instructions to build: its payload
--   was one jsonb_build_object() call of 17 pairs, and that function looks
--   up the type of each of its 34 arguments in the catalog caches. bouncerd
--   now sends each recipient already as the event has it (the keys below),
--   and the function adds the seven fields only the database knows.
-- * bouncer_record_bounce() is part of bouncer_deliver_report() now, and
--   the functions it still calls are called in assignments: fewer
--   statements to start per message.
-- * The publisher wrote 141 000 instructions per event: `payload ||
--   jsonb_build_object('seq', seq)` rebuilt and re-sorted every payload it
--   sent (bouncerd now puts `seq` into the text itself), every row was
--   locked before it was updated, and the update added an entry to
--   events_org, which no query reads. Now 80 000.
-- * The unique index on seq held an entry for every event not yet
--   sequenced (NULLs are indexed): it now holds the sequenced ones only.
--
-- Together 12-14% of the database's instructions per message. Building
-- the index on seq again takes a while on a large events table and blocks
-- writes meanwhile (bouncerd answers 4xx if it lasts past its wait
-- timeout; Postfix retries).

DROP INDEX events_org;
CREATE UNIQUE INDEX events_seq_sequenced ON events (seq) WHERE seq IS NOT NULL;
ALTER TABLE events DROP CONSTRAINT events_seq_key;

-- bouncer_deliver_report - one returned message for one envelope recipient.
-- p_recipients is bouncerd's list, each element the recipient's part of its
-- event: for a bounce or auto-reply {"recipient", "action", "status",
-- "reply_code", "reason", "hard", "bounce_type", "bounce_subtype",
-- "diagnostic", "remote_mta", "rule"}, all strings but "hard" (boolean);
-- for a complaint {"recipient", "feedback_type"}. The event's payload is
-- that object and type, time, org_id, message_id, reporting_mta,
-- inbound_id and bounce_id (docs/events.md). p_forward says the report is
-- worth forwarding (a final failure, or an auto-reply when configured);
-- whether it is, is the organisation's row: known, with a Reply-To and
-- forwarding on. Over p_forward_limit forwards in the last hour it is
-- recorded as held.
CREATE OR REPLACE FUNCTION bouncer_deliver_report(
    p_session_id text, p_mail_from text, p_rcpt_to text, p_mailbox text, p_kind text,
    p_raw bytea, p_org_id bigint, p_message_id bigint, p_reporting_mta text,
    p_recipients jsonb, p_soft_threshold integer, p_soft_window interval,
    p_soft_period interval, p_forward boolean, p_forward_limit integer, p_give_up interval,
    OUT id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r        jsonb;
    v_addr   text;
    v_action text;
    v_status text;
    v_reason text;
    v_hard   boolean;
    v_type   text;
    v_bounce bigint;
    v_event  bigint;
    v_count  integer;
    v_detail text;
    v_reply  text;
    v_on     boolean;
    v_recent bigint;
    v_held   boolean;
    v_stored record;
    v_unused bigint;
BEGIN
    -- Calls made as assignments rather than SELECT or PERFORM statements
    -- are evaluated directly, without an executor of their own.
    v_stored := bouncer_store_inbound(p_session_id, p_mail_from, p_rcpt_to, p_mailbox, p_kind,
                                      p_raw, NULL);
    id := v_stored.id;
    duplicate := v_stored.duplicate;
    IF duplicate THEN
        RETURN;
    END IF;
    FOR r IN SELECT value FROM jsonb_array_elements(coalesce(p_recipients, '[]')) LOOP
        -- A list in the old form (before this migration) fails here, so a
        -- bouncerd older than the schema gets 4xx, never empty rows.
        IF NOT r ? 'recipient' THEN
            RAISE EXCEPTION 'bouncer_deliver_report: recipient without "recipient": %', r;
        END IF;
        v_addr := r->>'recipient';
        IF p_kind = 'arf' THEN
            PERFORM bouncer_record_complaint(id, p_org_id, p_message_id, v_addr,
                coalesce(r->>'feedback_type', ''), coalesce(p_reporting_mta, ''));
            CONTINUE;
        END IF;
        v_action := r->>'action';
        v_status := r->>'status';
        v_reason := r->>'reason';
        v_hard := (r->>'hard')::boolean;
        INSERT INTO bounces (inbound_id, org_id, message_id, recipient, kind, action, status,
                             reply_code, reason, hard, bounce_type, bounce_subtype, diagnostic,
                             remote_mta, reporting_mta, rule)
        VALUES (id, p_org_id, p_message_id, v_addr, p_kind, v_action, v_status,
                r->>'reply_code', v_reason, v_hard, r->>'bounce_type', r->>'bounce_subtype',
                r->>'diagnostic', r->>'remote_mta', coalesce(p_reporting_mta, ''), r->>'rule')
        RETURNING bounces.id INTO v_bounce;

        v_type := CASE
            WHEN p_kind = 'autoreply' THEN 'autoreply.in'
            WHEN v_action = 'failed' AND v_hard THEN 'bounce.hard'
            WHEN v_action = 'failed' THEN 'bounce.soft'
            WHEN v_action = 'delayed' THEN 'bounce.delayed'
            ELSE NULL     -- delivered, relayed, expanded: recorded, not news
        END;
        CONTINUE WHEN v_type IS NULL;
        INSERT INTO events (type, org_id, payload)
        VALUES (v_type, p_org_id, r || jsonb_build_object(
            'type', v_type, 'time', now(), 'org_id', p_org_id, 'message_id', p_message_id,
            'reporting_mta', coalesce(p_reporting_mta, ''), 'inbound_id', id,
            'bounce_id', v_bounce))
        RETURNING events.id INTO v_event;

        -- Only a report tied to one of our messages by a valid token (so to
        -- an organisation) may suppress: postmaster@ and fbl@ take mail from
        -- anyone, and a forged report must not silence an address. A failed
        -- hard bounce suppresses the address for every organisation;
        -- p_soft_threshold failed soft bounces within p_soft_window suppress
        -- it for p_soft_period.
        CONTINUE WHEN v_action <> 'failed' OR p_kind = 'autoreply' OR p_org_id IS NULL;
        v_detail := trim(both ' ' from v_status || ' ' || v_reason);
        IF v_hard THEN
            v_unused := bouncer_suppress(v_addr, NULL, 'hard-bounce', v_detail, v_event, NULL);
        ELSIF p_soft_threshold > 0 THEN
            v_count := bouncer_recent_soft_bounces(v_addr, p_soft_window, p_soft_threshold);
            IF v_count >= p_soft_threshold THEN
                v_unused := bouncer_suppress(v_addr, NULL, 'soft-bounces',
                                             v_count || ' soft bounces, last ' || v_detail,
                                             v_event, now() + p_soft_period);
            END IF;
        END IF;
    END LOOP;

    IF NOT p_forward OR p_org_id IS NULL THEN
        RETURN;
    END IF;
    SELECT o.reply_to, o.forward_bounces INTO v_reply, v_on
      FROM organisations o WHERE o.id = p_org_id;
    IF NOT FOUND OR NOT v_on OR coalesce(v_reply, '') = '' THEN
        RETURN;
    END IF;
    v_held := false;
    IF p_forward_limit > 0 THEN
        SELECT count(*) INTO v_recent
          FROM outbox f
         WHERE f.org_id = p_org_id AND f.kind = 'forward' AND f.state <> 'held'
           AND f.created_at > now() - interval '1 hour';
        v_held := v_recent >= p_forward_limit;
    END IF;
    INSERT INTO outbox (kind, org_id, inbound_id, mail_from, rcpt_to, message, state,
                        last_error, expires_at)
    VALUES ('forward', p_org_id, id, '', v_reply, NULL,
            CASE WHEN v_held THEN 'held' ELSE 'queued' END,
            CASE WHEN v_held THEN 'hourly forward limit reached' ELSE '' END,
            now() + p_give_up);
END;
$$;

DROP FUNCTION bouncer_record_bounce(bigint, bigint, bigint, text, text, text, text, text, text,
                                    boolean, text, text, text, text, text, text, integer,
                                    interval, interval);
