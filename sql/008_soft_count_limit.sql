-- 008: the soft-bounce count stops at the threshold. It used to count
-- every soft bounce of the address in the window, so an address that kept
-- bouncing (nothing stops a sender that ignores suppressions) made each new
-- bounce of it read its whole history: 10 000 rows in a benchmark where one
-- address came back 10 000 times, doubling the database's work per message.

-- bouncer_recent_soft_bounces - failed soft bounces of an address within
-- p_window, counted up to p_limit, newest first along bounces_recipient.
-- Bitmap scans are off for it: the plan cached for any address expects
-- one row or two, and a bitmap scan then reads every bounce the address
-- ever had (and sorts them) before the LIMIT applies; the index scan
-- stops after p_limit rows.
CREATE FUNCTION bouncer_recent_soft_bounces(p_recipient text, p_window interval,
                                            p_limit integer)
RETURNS integer
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off
AS $$
BEGIN
    RETURN (SELECT count(*)
              FROM (SELECT 1
                      FROM bounces
                     WHERE lower(recipient) = lower(p_recipient) AND action = 'failed'
                       AND NOT hard AND kind <> 'autoreply'
                       AND received_at > now() - p_window
                     ORDER BY lower(recipient), received_at DESC
                     LIMIT p_limit) recent);
END;
$$;

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
        v_count := bouncer_recent_soft_bounces(p_recipient, p_soft_window, p_soft_threshold);
        IF v_count >= p_soft_threshold THEN
            PERFORM bouncer_suppress(p_recipient, NULL, 'soft-bounces',
                                     v_count || ' soft bounces, last ' || v_detail, v_event,
                                     now() + p_soft_period);
        END IF;
    END IF;
    RETURN v_id;
END;
$$;

