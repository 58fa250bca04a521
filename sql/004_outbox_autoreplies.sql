-- 004: mail bouncer sends (forwards to organisations, auto-replies), and
-- the auto-reply decisions.

-- Every message bouncer sends is inserted in the transaction that stored
-- the message causing it, and delivered from here by the sender thread.
CREATE TABLE outbox (
    id              bigserial   PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    kind            text        NOT NULL CHECK (kind IN ('forward', 'autoreply')),
    org_id          bigint,
    inbound_id      bigint      REFERENCES inbound_messages (id),
    mail_from       text        NOT NULL DEFAULT '',   -- '' is the null sender <>
    rcpt_to         text        NOT NULL,
    message         bytea,                           -- NULL: composed when sent (forwards)
    -- queued: waiting or being retried; sent; failed: gave up (see last_error);
    -- held: recorded but over a rate limit, never sent.
    state           text        NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sent', 'failed', 'held')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    sent_at         timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_org_created ON outbox (org_id, kind, created_at);
CREATE INDEX outbox_inbound ON outbox (inbound_id);

-- One row per message to the reply mailbox: what was decided and why.
CREATE TABLE autoreplies (
    id              bigserial   PRIMARY KEY,
    inbound_id      bigint      NOT NULL REFERENCES inbound_messages (id),
    received_at     timestamptz NOT NULL DEFAULT now(),
    sender          text        NOT NULL,
    org_id          bigint,
    message_id      bigint,
    decision        text        NOT NULL CHECK (decision IN ('replied', 'skipped')),
    rule            text        NOT NULL DEFAULT '',   -- why skipped
    outbox_id       bigint      REFERENCES outbox (id)
);
CREATE INDEX autoreplies_sender_replied ON autoreplies (lower(sender), received_at)
    WHERE decision = 'replied';
CREATE INDEX autoreplies_received ON autoreplies (received_at);
CREATE INDEX autoreplies_org ON autoreplies (org_id, received_at);
