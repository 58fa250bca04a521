-- 008: reports that cannot be tied to one of our messages suppress nobody.
--
-- Mail to postmaster@, abuse@ and fbl@ is accepted from anyone, without a
-- token at RCPT time. A report there is tied to an organisation only when
-- its returned headers carry a valid token; until now one that was not still
-- suppressed its addresses (for everyone, as a hard bounce or a complaint
-- about an unknown organisation), so anyone could silence any address with
-- a forged report. Such reports are now recorded, published and never acted
-- on. The functions are those of 002 with that one condition added.

CREATE OR REPLACE FUNCTION bouncer_record_bounce(
    p_inbound_id bigint, p_org_id bigint, p_message_id bigint, p_recipient text,
    p_kind text, p_action text, p_status text, p_reply_code text, p_reason text,
    p_hard boolean, p_bounce_type text, p_bounce_subtype text, p_diagnostic text,
    p_remote_mta text, p_reporting_mta text, p_rule text,
    p_soft_threshold integer, p_soft_window interval, p_soft_period interval)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id       bigint;
    v_type     text;
    v_event    bigint;
    v_count    integer;
    v_detail   text := trim(both ' ' from p_status || ' ' || p_reason);
BEGIN
    INSERT INTO bounces (inbound_id, org_id, message_id, recipient, kind, action, status,
                         reply_code, reason, hard, bounce_type, bounce_subtype, diagnostic,
                         remote_mta, reporting_mta, rule)
    VALUES (p_inbound_id, p_org_id, p_message_id, p_recipient, p_kind, p_action, p_status,
            p_reply_code, p_reason, p_hard, p_bounce_type, p_bounce_subtype, p_diagnostic,
            p_remote_mta, p_reporting_mta, p_rule)
    RETURNING id INTO v_id;

    v_type := CASE
        WHEN p_kind = 'autoreply' THEN 'autoreply.in'
        WHEN p_action = 'failed' AND p_hard THEN 'bounce.hard'
        WHEN p_action = 'failed' THEN 'bounce.soft'
        WHEN p_action = 'delayed' THEN 'bounce.delayed'
        ELSE NULL     -- delivered, relayed, expanded: recorded, not news
    END;
    IF v_type IS NULL THEN
        RETURN v_id;
    END IF;
    INSERT INTO events (type, org_id, payload)
    VALUES (v_type, p_org_id, jsonb_build_object(
        'type', v_type, 'time', now(), 'org_id', p_org_id, 'message_id', p_message_id,
        'recipient', p_recipient, 'action', p_action, 'status', p_status,
        'reply_code', p_reply_code, 'reason', p_reason, 'hard', p_hard,
        'bounce_type', p_bounce_type, 'bounce_subtype', p_bounce_subtype,
        'diagnostic', p_diagnostic, 'remote_mta', p_remote_mta,
        'reporting_mta', p_reporting_mta, 'rule', p_rule,
        'inbound_id', p_inbound_id, 'bounce_id', v_id))
    RETURNING id INTO v_event;

    -- Only a report tied to one of our messages by a valid token (so to an
    -- organisation) may suppress: postmaster@ and fbl@ take mail from
    -- anyone, and a forged report must not silence an address.
    IF p_action <> 'failed' OR p_kind = 'autoreply' OR p_org_id IS NULL THEN
        RETURN v_id;
    END IF;
    IF p_hard THEN
        PERFORM bouncer_suppress(p_recipient, NULL, 'hard-bounce', v_detail, v_event, NULL);
    ELSIF p_soft_threshold > 0 THEN
        SELECT count(*) INTO v_count
          FROM bounces
         WHERE lower(recipient) = lower(p_recipient) AND action = 'failed' AND NOT hard
           AND kind <> 'autoreply' AND received_at > now() - p_soft_window;
        IF v_count >= p_soft_threshold THEN
            PERFORM bouncer_suppress(p_recipient, NULL, 'soft-bounces',
                                     v_count || ' soft bounces, last ' || v_detail, v_event,
                                     now() + p_soft_period);
        END IF;
    END IF;
    RETURN v_id;
END;
$$;

CREATE OR REPLACE FUNCTION bouncer_record_complaint(
    p_inbound_id bigint, p_org_id bigint, p_message_id bigint, p_recipient text,
    p_feedback_type text, p_reporting_mta text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id    bigint;
    v_event bigint;
BEGIN
    INSERT INTO complaints (inbound_id, org_id, message_id, recipient, feedback_type,
                            reporting_mta)
    VALUES (p_inbound_id, p_org_id, p_message_id, p_recipient, p_feedback_type,
            p_reporting_mta)
    RETURNING id INTO v_id;
    INSERT INTO events (type, org_id, payload)
    VALUES ('complaint', p_org_id, jsonb_build_object(
        'type', 'complaint', 'time', now(), 'org_id', p_org_id, 'message_id', p_message_id,
        'recipient', p_recipient, 'feedback_type', p_feedback_type,
        'reporting_mta', p_reporting_mta, 'inbound_id', p_inbound_id, 'complaint_id', v_id))
    RETURNING id INTO v_event;
    IF p_recipient <> '' AND p_org_id IS NOT NULL THEN
        PERFORM bouncer_suppress(p_recipient, p_org_id, 'complaint',
                                 'complaint ' || p_feedback_type, v_event, NULL);
    END IF;
    RETURN v_id;
END;
$$;
