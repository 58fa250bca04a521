-- 020: an event is written once. Its seq is its id, and the publisher
-- sends events in id order up to a point every transaction that took an
-- id below it has passed, instead of updating each event with a seq drawn
-- when it is sent.
--
-- The update was a second copy of every event row with two index entries,
-- and dead rows for VACUUM: the largest write of a delivery after the
-- message itself. Written once, a bounce costs PostgreSQL about a sixth
-- less CPU and WAL (docs/performance.md).
--
-- What the app reads does not change: the view "events" has the columns
-- the table had, seq included, and shows an event once it is settled (no
-- transaction still running can commit an event with a smaller seq), so
-- "SELECT seq, payload FROM events WHERE seq > $1 ORDER BY seq" never
-- skips an event that commits late. What changes is that seq may now skip
-- a number: the ids taken by a transaction that rolled back.
--
-- The rows are kept in event_log, written through the view (it is a
-- simple view, so an INSERT into events lands in event_log, RETURNING
-- and all: the functions and statements that write events are unchanged).

-- Renaming takes the table's strongest lock, so every transaction still
-- writing events has ended when the rest runs.
ALTER TABLE events RENAME TO event_log;
ALTER INDEX events_pkey RENAME TO event_log_pkey;

-- What was committed but not yet sequenced gets its seq as the publisher
-- would have given it, so every row written before this migration has one
-- and keeps it: a consumer's last seq stays valid.
UPDATE event_log e SET seq = o.seq
  FROM (SELECT id, nextval('events_seq') AS seq
          FROM (SELECT id FROM event_log WHERE seq IS NULL ORDER BY id) s) o
 WHERE e.id = o.id;

-- From now on seq is the id, and ids start above every seq given before.
SELECT setval('events_id_seq',
              greatest((SELECT last_value FROM events_id_seq),
                       (SELECT coalesce(max(seq), 0) FROM event_log), 1));

DROP INDEX events_unsequenced;        -- would now hold every new event
DROP INDEX events_seq_sequenced;      -- event_log_seq below covers it
CREATE INDEX IF NOT EXISTS event_log_seq ON event_log ((coalesce(seq, id)));

-- The highest seq every transaction has passed, kept by the publisher
-- whether or not anyone listens; published_seq stays the highest sent.
ALTER TABLE event_publication ADD COLUMN settled_seq bigint NOT NULL DEFAULT 0;
INSERT INTO event_publication (published_seq) VALUES (0) ON CONFLICT (only_row) DO NOTHING;
UPDATE event_publication
   SET settled_seq = (SELECT coalesce(max(seq), 0) FROM event_log);

-- events - the settled events, each with its seq: what the app reads.
CREATE VIEW events AS
SELECT e.id, coalesce(e.seq, e.id) AS seq, e.type, e.org_id, e.payload, e.created_at
  FROM event_log e
 WHERE coalesce(e.seq, e.id) <= coalesce((SELECT p.settled_seq FROM event_publication p), 0);

-- events_unpublished - committed events not yet sent: above the highest
-- seq marked sent, settled or not.
CREATE OR REPLACE VIEW events_unpublished AS
SELECT e.id, coalesce(e.seq, e.id) AS seq, e.type, e.org_id, e.payload, e.created_at
  FROM event_log e
 WHERE coalesce(e.seq, e.id) > coalesce((SELECT p.published_seq FROM event_publication p), 0);

-- Whoever could read the table can read the view (the app's role, say).
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
              WHERE table_schema = current_schema() AND table_name = 'event_log'
                AND privilege_type = 'SELECT' AND grantee <> current_user
    LOOP
        EXECUTE format('GRANT SELECT ON events, events_unpublished TO %I', g.grantee);
    END LOOP;
END;
$$;
