-- 007: one round trip per delivered report. The message, every recipient's
-- row, events, suppressions and the forward are written by one function
-- call, which in autocommit is its own transaction: the daemon answers 250
-- when the call returns. A forward is queued without its message (outbox
-- message NULL) and composed when it is sent, from the stored report and
-- the organisation as it is then.

-- bouncer_deliver_report - one returned message for one envelope recipient.
-- p_recipients is the parser's list: [{"addr", "action", "status",
-- "replycode", "reason", "hard", "bounce_type", "bounce_subtype",
-- "diagnostic", "remote_mta", "rule", "feedbacktype"}]. p_forward says the
-- report is worth forwarding (a final failure, or an auto-reply when
-- configured); whether it is, is the organisation's row: known, with a
-- Reply-To and forwarding on. Over p_forward_limit forwards in the last
-- hour it is recorded as held.
CREATE FUNCTION bouncer_deliver_report(
    p_session_id text, p_mail_from text, p_rcpt_to text, p_mailbox text, p_kind text,
    p_raw bytea, p_org_id bigint, p_message_id bigint, p_reporting_mta text,
    p_recipients jsonb, p_soft_threshold integer, p_soft_window interval,
    p_soft_period interval, p_forward boolean, p_forward_limit integer, p_give_up interval,
    OUT id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    r        jsonb;
    v_reply  text;
    v_on     boolean;
    v_recent bigint;
    v_held   boolean;
BEGIN
    SELECT s.id, s.duplicate INTO id, duplicate
      FROM bouncer_store_inbound(p_session_id, p_mail_from, p_rcpt_to, p_mailbox, p_kind,
                                 p_raw, NULL) s;
    IF duplicate THEN
        RETURN;
    END IF;
    FOR r IN SELECT value FROM jsonb_array_elements(coalesce(p_recipients, '[]')) LOOP
        IF p_kind = 'arf' THEN
            PERFORM bouncer_record_complaint(id, p_org_id, p_message_id,
                coalesce(r->>'addr', ''), coalesce(r->>'feedbacktype', ''),
                coalesce(p_reporting_mta, ''));
        ELSE
            PERFORM bouncer_record_bounce(id, p_org_id, p_message_id,
                coalesce(r->>'addr', ''), p_kind, coalesce(r->>'action', ''),
                coalesce(r->>'status', ''), coalesce(r->>'replycode', ''),
                coalesce(r->>'reason', ''), coalesce((r->>'hard')::boolean, false),
                coalesce(r->>'bounce_type', ''), coalesce(r->>'bounce_subtype', ''),
                coalesce(r->>'diagnostic', ''), coalesce(r->>'remote_mta', ''),
                coalesce(p_reporting_mta, ''), coalesce(r->>'rule', ''),
                p_soft_threshold, p_soft_window, p_soft_period);
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
