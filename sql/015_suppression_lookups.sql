-- 015: looking up an address's suppression reads the same few rows however
-- long its history is.
--
-- Since 012 every change to a suppression closes its row and writes a new
-- one, so an address that keeps bouncing softly gains a row each time its
-- suppression is made longer. Two lookups walked all of them:
--
-- * bouncer_suppress's "the row in force": the functions' plans are cached
--   per connection, and after a few calls PostgreSQL keeps a generic plan,
--   one made without the address. For it the two indexes that start with
--   the address cost the same (addresses are nearly unique), and it took
--   suppressions_address (address, since) and filtered, so an address with
--   6 700 closed rows cost 3 500 buffer reads a bounce instead of 5. There
--   is at most one row in force, and it is at or next to the newest of its
--   scope (a row is closed by the transaction that writes the next one), so
--   newest first with LIMIT 1 finds the same row after a step or two,
--   whichever index the plan takes.
-- * bouncer_recent_soft_bounces's "latest removal by a person": no index
--   had removed_by, so every row of the address was read. Such removals
--   are rare; a partial index of them alone answers in one step.
--
-- bouncer_unsuppress finds the row the same way as bouncer_suppress.
-- Nothing they return changes.
--
-- The index is small, but building it reads the whole table under a lock
-- that holds writes back (bouncerd answers 451 meanwhile). On a big
-- database build it first without that lock; this then finds it:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS suppressions_lifted
--       ON suppressions (address, removed_at)
--       WHERE org_id IS NULL AND removed_by IS NOT NULL;

CREATE INDEX IF NOT EXISTS suppressions_lifted ON suppressions (address, removed_at)
    WHERE org_id IS NULL AND removed_by IS NOT NULL;

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
         ORDER BY since DESC
         LIMIT 1
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

CREATE OR REPLACE FUNCTION bouncer_unsuppress(
    p_address text, p_org_id bigint, p_removed_by text, p_removed_reason text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_row  suppressions%ROWTYPE;
BEGIN
    UPDATE suppressions
       SET removed_at = now(), removed_by = p_removed_by, removed_reason = p_removed_reason
     WHERE id = (SELECT id FROM suppressions
                  WHERE address = lower(p_address)
                    AND coalesce(org_id, 0) = coalesce(p_org_id, 0)
                    AND removed_at IS NULL
                  ORDER BY since DESC
                  LIMIT 1
                    FOR UPDATE)
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
