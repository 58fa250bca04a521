-- 017: the purge finds what is due from indexes instead of reading every
-- row of inbound_messages.
--
-- A message is due when its own purge_after has passed, or (without one)
-- when it is older than its mailbox's period: the reply mailbox's, or the
-- reports' (bounce, postmaster, fbl). That condition is an expression of
-- received_at and mailbox, which no index answered, so each run of the
-- purge timer (hourly) read the whole table, purged rows included, to find
-- the few messages that had just come of age. The purge now also states
-- it in parts that these indexes answer (common/purge.c): a reply older
-- than the reply period, a report older than the reports' period, or a
-- purge_after in the past. Each index holds only messages whose bytes are
-- still stored, so a purged row leaves them.
--
-- inbound_messages_purge_after indexed every stored message, most of them
-- without a purge_after (nothing sets one yet), and no query used it: it
-- now holds the ones that have one. A stored message is in one of the two
-- new indexes instead, so it still costs one entry.
--
-- Building the two indexes reads the whole table under a lock that holds
-- writes back (bouncerd answers 451 meanwhile). On a big database build
-- them first without that lock; this then finds them:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_messages_replies_stored
--       ON inbound_messages (received_at) WHERE raw IS NOT NULL AND mailbox = 'reply';
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_messages_reports_stored
--       ON inbound_messages (received_at) WHERE raw IS NOT NULL AND mailbox <> 'reply';

CREATE INDEX IF NOT EXISTS inbound_messages_replies_stored ON inbound_messages (received_at)
    WHERE raw IS NOT NULL AND mailbox = 'reply';
CREATE INDEX IF NOT EXISTS inbound_messages_reports_stored ON inbound_messages (received_at)
    WHERE raw IS NOT NULL AND mailbox <> 'reply';
DROP INDEX IF EXISTS inbound_messages_purge_after;
CREATE INDEX inbound_messages_purge_after ON inbound_messages (purge_after)
    WHERE raw IS NOT NULL AND purge_after IS NOT NULL;

-- The auto-replies whose copy of what they answered is still kept: the
-- purge's second step reads them, and looks up the message of each, where
-- it joined the outbox to inbound_messages and could read all of both.
CREATE INDEX IF NOT EXISTS outbox_copies_kept ON outbox (id)
    WHERE message IS NOT NULL AND state <> 'queued';
