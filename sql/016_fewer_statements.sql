-- 016: fewer statements a returned message. Counted in instructions
-- (callgrind on a single-user backend, 2 000 deliveries of one recipient
-- each in transactions of four, 40% soft bounces, their events sequenced
-- as the publisher does; 3 279 M instructions in all before):
--
-- * The foreign keys from bounces and complaints to inbound_messages ran
--   a lookup of the message at every row (SELECT ... FOR KEY SHARE, a
--   query and a row lock of its own): -83 M. Those rows are written only
--   by bouncer_deliver_report, in the transaction that writes the message,
--   and a message row is never deleted (the purge empties its raw bytes),
--   which is what keeps them consistent; docs/support.md's partitioning
--   plan drops the keys for the same reason. inbound_id stays indexed.
-- * The recipients are read by index instead of a loop over
--   jsonb_array_elements(), which ran as a query: -40 M.
-- * The redelivery lock and the complaint are taken by assignment instead
--   of PERFORM, which starts an executor for a SELECT: -18 M.
--
-- Nothing stored or returned changes.

ALTER TABLE bounces DROP CONSTRAINT IF EXISTS bounces_inbound_id_fkey;
ALTER TABLE complaints DROP CONSTRAINT IF EXISTS complaints_inbound_id_fkey;

CREATE OR REPLACE FUNCTION bouncer_store_inbound(
    p_session_id text, p_mail_from text, p_rcpt_to text, p_mailbox text, p_kind text,
    p_raw bytea, p_purge_after timestamptz,
    OUT id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha256 bytea := sha256(p_raw);
    v_locked text;
BEGIN
    -- An assignment, not PERFORM: no executor of its own (the function
    -- returns void, which reads as '' in text).
    v_locked := pg_advisory_xact_lock(hashtextextended(encode(v_sha256, 'hex') || lower(p_rcpt_to), 0))::text;
    SELECT m.id INTO id
      FROM inbound_messages m
     WHERE m.sha256 = v_sha256
       AND lower(m.rcpt_to) = lower(p_rcpt_to)
       AND m.received_at > now() - interval '24 hours'
     ORDER BY m.id
     LIMIT 1;
    IF FOUND THEN
        duplicate := true;
        RETURN;
    END IF;
    INSERT INTO inbound_messages
           (session_id, mail_from, rcpt_to, mailbox, kind, size, sha256, raw, purge_after)
    VALUES (p_session_id, p_mail_from, p_rcpt_to, p_mailbox, p_kind, octet_length(p_raw),
            v_sha256, p_raw, p_purge_after)
    RETURNING inbound_messages.id INTO id;
    duplicate := false;
END;
$$;

CREATE OR REPLACE FUNCTION bouncer_deliver_report(
    p_session_id text, p_mail_from text, p_rcpt_to text, p_mailbox text, p_kind text,
    p_raw bytea, p_org_id bigint, p_message_id bigint, p_reporting_mta text,
    p_recipients jsonb, p_soft_threshold integer, p_soft_window interval,
    p_soft_period interval, p_forward boolean, p_forward_limit integer, p_give_up interval,
    OUT id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r        jsonb;
    v_i      integer;
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
    -- By index rather than FROM jsonb_array_elements(): a loop over a query
    -- starts an executor for it; these are expressions evaluated directly.
    FOR v_i IN 0 .. coalesce(jsonb_array_length(p_recipients), 0) - 1 LOOP
        r := p_recipients -> v_i;
        -- A list in the old form (before this migration) fails here, so a
        -- bouncerd older than the schema gets 4xx, never empty rows.
        IF NOT r ? 'recipient' THEN
            RAISE EXCEPTION 'bouncer_deliver_report: recipient without "recipient": %', r;
        END IF;
        v_addr := r->>'recipient';
        IF p_kind = 'arf' THEN
            v_unused := bouncer_record_complaint(id, p_org_id, p_message_id, v_addr,
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
