-- 014: the soft-bounce count restarts only when a person lifts a
-- suppression for every organisation. 012 restarted it at the removal of
-- any suppression of the address, so lifting one organisation's
-- complaint suppression wiped the address's soft-bounce history, which
-- only ever suppresses for every organisation.
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
     WHERE address = lower(p_recipient) AND org_id IS NULL AND removed_by IS NOT NULL;
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
