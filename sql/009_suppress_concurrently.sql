-- 009: two deliveries suppressing the same new address at the same moment.
--
-- Both used to find no live row and both INSERT; the second hit the unique
-- index suppressions_live and its whole delivery was answered 451 (the MTA
-- retried and it then went through). Now the INSERT gives way on conflict
-- and the function looks again, waiting for the other transaction's row.
-- Otherwise as in 002.
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
            -- Still in force and at least as long: nothing to do.
            IF v_until IS NULL OR (p_until IS NOT NULL AND v_until >= p_until) THEN
                RETURN NULL;
            END IF;
            UPDATE suppressions
               SET reason = p_reason, detail = p_detail, source_event = p_source_event,
                   since = now(), until = p_until
             WHERE id = v_id;
            EXIT;
        END IF;
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
