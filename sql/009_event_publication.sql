-- 009: how far the events have been published is one number, not a
-- column of every event. The publisher used to write each event twice
-- after its insert (its seq, then published_at), and neither update could
-- be HOT: both columns are indexed. Now it writes the seq, and once per
-- batch sent, the highest seq sent. An event is published when its seq is
-- at most event_publication.published_seq (0 when the row is missing: the
-- publisher writes it again, having sent everything once more).

CREATE TABLE event_publication (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    published_seq bigint  NOT NULL
);

-- Everything below the first sequenced event not yet marked was sent.
INSERT INTO event_publication (published_seq)
SELECT coalesce(min(seq) FILTER (WHERE published_at IS NULL) - 1, max(seq), 0)
  FROM events WHERE seq IS NOT NULL;

DROP INDEX events_unpublished;
ALTER TABLE events DROP COLUMN published_at;

-- events_unpublished - committed events not yet sent: waiting for a seq,
-- or sequenced after the last batch marked sent. Two arms rather than an
-- OR, so that each reads its own index (events_unsequenced, the seq key).
CREATE VIEW events_unpublished AS
SELECT e.* FROM events e WHERE e.seq IS NULL
UNION ALL
SELECT e.* FROM events e
 WHERE e.seq > coalesce((SELECT published_seq FROM event_publication), 0);
