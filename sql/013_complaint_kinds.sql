-- 013: not every feedback report is a complaint. A "not-spam" report
-- (RFC 6650: the recipient said the message was not spam) and an
-- "auth-failure" report (RFC 6591: a DKIM or SPF check failed on the way)
-- say nothing against mailing the recipient, and a placeholder a provider
-- puts in place of the complainer ("redacted@example.net",
-- "x@redacted") is nobody's address: they are recorded and published as
-- before but suppress nobody.
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
    IF p_recipient <> '' AND p_org_id IS NOT NULL
       AND lower(p_feedback_type) NOT IN ('not-spam', 'auth-failure')
       AND lower(p_recipient) !~ '^redacted@|@redacted(?:\.|$)' THEN
        PERFORM bouncer_suppress(p_recipient, p_org_id, 'complaint',
                                 'complaint ' || p_feedback_type, v_event, NULL);
    END IF;
    RETURN v_id;
END;
$$;
