-- 018: the redelivery check finds a message by one 8-byte key.
--
-- A message delivered again within a day (the MTA lost our 250 and
-- retried) is recognised by its bytes and its recipient. That lookup read
-- inbound_messages_sha256_rcpt (sha256, rcpt_to, received_at): an entry of
-- about 130 bytes (190 on the page) for every message ever received, at a
-- random place, since the key starts with a hash. Each delivery so wrote
-- into a random page of an index that only grows (107 MB at 576 000
-- messages), and the first write into a page after a checkpoint logs the
-- whole page: in the benchmark that index was 37% of the WAL written, a
-- page image at two deliveries out of three. And the lookup could not use
-- the recipient, which it compares lower-cased, so a message delivered to
-- many recipients (or a redelivery of one) read every stored copy.
--
-- The key is the one the check already locks on: a 64-bit hash of the
-- bytes' digest and the lower-cased recipient. Its index entry is 16 bytes,
-- so the index is a sixth of the size and far fewer of its pages are
-- written between two checkpoints; the lookup still compares the digest
-- and the recipient themselves, so a hash collision is only a row read.
--
-- Building the index reads the whole table under a lock that holds writes
-- back (bouncerd answers 451 meanwhile). On a big database build it first
-- without that lock; this then finds it:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_messages_redelivery ON inbound_messages
--       ((hashtextextended(encode(sha256, 'hex') || lower(rcpt_to), 0)));

CREATE INDEX IF NOT EXISTS inbound_messages_redelivery ON inbound_messages
    ((hashtextextended(encode(sha256, 'hex') || lower(rcpt_to), 0)));
DROP INDEX IF EXISTS inbound_messages_sha256_rcpt;
-- Statistics of the new expression, so that the first plans after the
-- migration know a key matches about one row. Not on an empty table: one
-- never analyzed is planned as if it had ten pages, which keeps the first
-- plans of a new database on their indexes; analyzed empty, it is planned
-- as empty, and each connection would keep a plan that reads it all until
-- autovacuum first analyzes it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM inbound_messages) THEN
        ANALYZE inbound_messages;
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION bouncer_store_inbound(
    p_session_id text, p_mail_from text, p_rcpt_to text, p_mailbox text, p_kind text,
    p_raw bytea, p_purge_after timestamptz,
    OUT id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha256 bytea := sha256(p_raw);
    -- The expression of inbound_messages_redelivery, written the same way.
    v_key bigint := hashtextextended(encode(v_sha256, 'hex') || lower(p_rcpt_to), 0);
    v_locked text;
BEGIN
    -- Two deliveries of the same message at once wait for each other here,
    -- so the second finds the first. An assignment, not PERFORM: no
    -- executor of its own (the function returns void, '' in text).
    v_locked := pg_advisory_xact_lock(v_key)::text;
    -- The copies with this key first, then the check of each: asked in one
    -- statement, the planner may read the day's messages by received_at
    -- and intersect (it has no estimate for the key until an ANALYZE).
    -- No ORDER BY: within a day there is at most one copy, since this
    -- check is what keeps a second out.
    WITH same_key AS MATERIALIZED (
        SELECT m.id, m.sha256, m.rcpt_to, m.received_at
          FROM inbound_messages m
         WHERE hashtextextended(encode(m.sha256, 'hex') || lower(m.rcpt_to), 0) = v_key)
    SELECT c.id INTO id
      FROM same_key c
     WHERE c.sha256 = v_sha256
       AND lower(c.rcpt_to) = lower(p_rcpt_to)
       AND c.received_at > now() - interval '24 hours';
    IF FOUND THEN
        duplicate := true;
        RETURN;
    END IF;
    INSERT INTO inbound_messages
           (session_id, mail_from, rcpt_to, mailbox, kind, size, sha256, raw, purge_after)
    VALUES (p_session_id, p_mail_from, p_rcpt_to, p_mailbox, p_kind, octet_length(p_raw),
            v_sha256, p_raw, p_purge_after)
    RETURNING inbound_messages.id INTO id;
    duplicate := false;
END;
$$;
