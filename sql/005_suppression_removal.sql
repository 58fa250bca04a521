-- 005: taking a suppression back. The row stays (removed_at, removed_by,
-- removed_reason) as the record of who lifted it and why, and the app
-- hears of it through a 'suppression' event with "removed": true.

-- bouncer_unsuppress - lift the suppression of an address in one scope
-- (org NULL: the one for every organisation). Marks the row removed and
-- writes a 'suppression' event carrying what was lifted. Returns the
-- suppression id, NULL when no row in that scope was in force.
CREATE FUNCTION bouncer_unsuppress(
    p_address text, p_org_id bigint, p_removed_by text, p_removed_reason text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_row  suppressions%ROWTYPE;
BEGIN
    UPDATE suppressions
       SET removed_at = now(), removed_by = p_removed_by, removed_reason = p_removed_reason
     WHERE address = lower(p_address) AND coalesce(org_id, 0) = coalesce(p_org_id, 0)
       AND removed_at IS NULL
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
