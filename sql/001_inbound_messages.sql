-- 001: every message received over LMTP, one row per accepted recipient.
-- The row is committed before the recipient is answered 250.

CREATE TABLE inbound_messages (
    id            bigserial PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    session_id    text        NOT NULL,
    mail_from     text        NOT NULL,            -- '' for the null sender
    rcpt_to       text        NOT NULL,
    mailbox       text        NOT NULL
                  CHECK (mailbox IN ('bounce', 'reply', 'postmaster', 'fbl')),
    kind          text        NOT NULL DEFAULT 'stored',  -- what the parser made of it
    size          integer     NOT NULL,
    sha256        bytea       NOT NULL,
    raw           bytea,                           -- NULL once purged
    purge_after   timestamptz,
    purged_at     timestamptz
);

-- Redelivery check: the same bytes to the same recipient within a day.
CREATE INDEX inbound_messages_sha256_rcpt ON inbound_messages (sha256, rcpt_to, received_at);
CREATE INDEX inbound_messages_received_at ON inbound_messages (received_at);
CREATE INDEX inbound_messages_purge_after ON inbound_messages (purge_after)
    WHERE raw IS NOT NULL;

-- bouncer_store_inbound - insert one received message, with the kind the
-- parser gave it, unless the same bytes reached the same recipient in the
-- last 24 hours (the MTA re-sends when a reply was lost). Returns the row id
-- and whether it was a duplicate. An advisory lock on the (hash, recipient)
-- pair makes concurrent redeliveries of the same message wait for each other
-- instead of both inserting.
CREATE FUNCTION bouncer_store_inbound(
    p_session_id text, p_mail_from text, p_rcpt_to text, p_mailbox text, p_kind text,
    p_raw bytea, p_purge_after timestamptz,
    OUT id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha256 bytea := sha256(p_raw);
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(encode(v_sha256, 'hex') || lower(p_rcpt_to), 0));
    SELECT m.id INTO id
      FROM inbound_messages m
     WHERE m.sha256 = v_sha256
       AND lower(m.rcpt_to) = lower(p_rcpt_to)
       AND m.received_at > now() - interval '24 hours'
     ORDER BY m.id
     LIMIT 1;
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
