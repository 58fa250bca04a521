-- 002: organisations, what each returned message said, suppressions, and
-- the events published on ZeroMQ.

-- Written by the app (see docs/app.md); bouncer only reads it.
CREATE TABLE organisations (
    id              bigint      PRIMARY KEY,
    name            text        NOT NULL,
    reply_to        text,                            -- the organisation's own address
    forward_bounces boolean     NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per recipient a bounce (or delivery report, or auto-reply sent to
-- a VERP address) speaks of. org_id has no foreign key: a bounce may come
-- back before the app has written its organisation, and is kept anyway.
CREATE TABLE bounces (
    id              bigserial   PRIMARY KEY,
    inbound_id      bigint      NOT NULL REFERENCES inbound_messages (id),
    received_at     timestamptz NOT NULL DEFAULT now(),
    org_id          bigint,
    message_id      bigint,
    recipient       text        NOT NULL,
    kind            text        NOT NULL,  -- dsn, nonstandard, autoreply, delivered
    action          text        NOT NULL,  -- failed, delayed, delivered, relayed, expanded
    status          text        NOT NULL DEFAULT '',
    reply_code      text        NOT NULL DEFAULT '',
    reason          text        NOT NULL DEFAULT '',
    hard            boolean     NOT NULL DEFAULT false,
    bounce_type     text        NOT NULL DEFAULT '',
    bounce_subtype  text        NOT NULL DEFAULT '',
    diagnostic      text        NOT NULL DEFAULT '',
    remote_mta      text        NOT NULL DEFAULT '',
    reporting_mta   text        NOT NULL DEFAULT '',
    rule            text        NOT NULL DEFAULT ''   -- what decided the reason
);
CREATE INDEX bounces_org_received ON bounces (org_id, received_at DESC);
CREATE INDEX bounces_recipient ON bounces (lower(recipient), received_at DESC);
CREATE INDEX bounces_received ON bounces (received_at);
CREATE INDEX bounces_inbound ON bounces (inbound_id);

-- Feedback-loop complaints (ARF). The complainant's address is kept for
-- suppression and never forwarded.
CREATE TABLE complaints (
    id              bigserial   PRIMARY KEY,
    inbound_id      bigint      NOT NULL REFERENCES inbound_messages (id),
    received_at     timestamptz NOT NULL DEFAULT now(),
    org_id          bigint,
    message_id      bigint,
    recipient       text        NOT NULL,
    feedback_type   text        NOT NULL DEFAULT '',
    reporting_mta   text        NOT NULL DEFAULT ''
);
CREATE INDEX complaints_org_received ON complaints (org_id, received_at DESC);
CREATE INDEX complaints_recipient ON complaints (lower(recipient));
CREATE INDEX complaints_inbound ON complaints (inbound_id);

-- Addresses the app must not send to. org_id NULL: for every organisation.
-- until NULL: until removed. Removing keeps the row (removed_*) as audit.
CREATE TABLE suppressions (
    id              bigserial   PRIMARY KEY,
    address         text        NOT NULL,            -- lower case
    org_id          bigint,
    reason          text        NOT NULL,            -- hard-bounce, complaint, soft-bounces, manual
    detail          text        NOT NULL DEFAULT '', -- status and reason that caused it
    source_event    bigint,                          -- events.id that caused it
    since           timestamptz NOT NULL DEFAULT now(),
    until           timestamptz,
    removed_at      timestamptz,
    removed_by      text,
    removed_reason  text
);
-- At most one live row per address and scope.
CREATE UNIQUE INDEX suppressions_live ON suppressions (address, coalesce(org_id, 0))
    WHERE removed_at IS NULL;
CREATE INDEX suppressions_org ON suppressions (org_id) WHERE removed_at IS NULL;

-- What ZeroMQ publishes. Rows are written in the transaction that stores
-- the message; the publisher gives each a seq in the order it publishes
-- them, so seq is gap-free and strictly increasing on the wire even though
-- transactions commit out of id order.
CREATE SEQUENCE events_seq;
CREATE TABLE events (
    id              bigserial   PRIMARY KEY,
    seq             bigint      UNIQUE,              -- NULL until the publisher takes it
    type            text        NOT NULL,            -- the ZeroMQ topic
    org_id          bigint,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
CREATE INDEX events_unpublished ON events (seq) WHERE published_at IS NULL AND seq IS NOT NULL;
CREATE INDEX events_org ON events (org_id, id);

-- bouncer_suppress - suppress an address (org NULL: for everyone) unless a
-- live row already covers it; a permanent suppression replaces a temporary
-- one. Two transactions suppressing the same new address at once: the
-- INSERT gives way on conflict and the loop looks again, waiting for the
-- other's row, instead of failing one delivery with a unique violation. Writes a 'suppression' event when something changed. Returns the
-- suppression id, NULL when nothing changed.
CREATE FUNCTION bouncer_suppress(
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

-- bouncer_record_bounce - one recipient of a returned message: its bounces
-- row, its event, and the suppression it causes, in one round trip.
-- A failed hard bounce suppresses the address for every organisation;
-- p_soft_threshold failed soft bounces within p_soft_window suppress it for
-- p_soft_period. Returns the bounces row id.
CREATE FUNCTION bouncer_record_bounce(
    p_inbound_id bigint, p_org_id bigint, p_message_id bigint, p_recipient text,
    p_kind text, p_action text, p_status text, p_reply_code text, p_reason text,
    p_hard boolean, p_bounce_type text, p_bounce_subtype text, p_diagnostic text,
    p_remote_mta text, p_reporting_mta text, p_rule text,
    p_soft_threshold integer, p_soft_window interval, p_soft_period interval)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id       bigint;
    v_type     text;
    v_event    bigint;
    v_count    integer;
    v_detail   text := trim(both ' ' from p_status || ' ' || p_reason);
BEGIN
    INSERT INTO bounces (inbound_id, org_id, message_id, recipient, kind, action, status,
                         reply_code, reason, hard, bounce_type, bounce_subtype, diagnostic,
                         remote_mta, reporting_mta, rule)
    VALUES (p_inbound_id, p_org_id, p_message_id, p_recipient, p_kind, p_action, p_status,
            p_reply_code, p_reason, p_hard, p_bounce_type, p_bounce_subtype, p_diagnostic,
            p_remote_mta, p_reporting_mta, p_rule)
    RETURNING id INTO v_id;

    v_type := CASE
        WHEN p_kind = 'autoreply' THEN 'autoreply.in'
        WHEN p_action = 'failed' AND p_hard THEN 'bounce.hard'
        WHEN p_action = 'failed' THEN 'bounce.soft'
        WHEN p_action = 'delayed' THEN 'bounce.delayed'
        ELSE NULL     -- delivered, relayed, expanded: recorded, not news
    END;
    IF v_type IS NULL THEN
        RETURN v_id;
    END IF;
    INSERT INTO events (type, org_id, payload)
    VALUES (v_type, p_org_id, jsonb_build_object(
        'type', v_type, 'time', now(), 'org_id', p_org_id, 'message_id', p_message_id,
        'recipient', p_recipient, 'action', p_action, 'status', p_status,
        'reply_code', p_reply_code, 'reason', p_reason, 'hard', p_hard,
        'bounce_type', p_bounce_type, 'bounce_subtype', p_bounce_subtype,
        'diagnostic', p_diagnostic, 'remote_mta', p_remote_mta,
        'reporting_mta', p_reporting_mta, 'rule', p_rule,
        'inbound_id', p_inbound_id, 'bounce_id', v_id))
    RETURNING id INTO v_event;

    -- Only a report tied to one of our messages by a valid token (so to an
    -- organisation) may suppress: postmaster@ and fbl@ take mail from
    -- anyone, and a forged report must not silence an address.
    IF p_action <> 'failed' OR p_kind = 'autoreply' OR p_org_id IS NULL THEN
        RETURN v_id;
    END IF;
    IF p_hard THEN
        PERFORM bouncer_suppress(p_recipient, NULL, 'hard-bounce', v_detail, v_event, NULL);
    ELSIF p_soft_threshold > 0 THEN
        SELECT count(*) INTO v_count
          FROM bounces
         WHERE lower(recipient) = lower(p_recipient) AND action = 'failed' AND NOT hard
           AND kind <> 'autoreply' AND received_at > now() - p_soft_window;
        IF v_count >= p_soft_threshold THEN
            PERFORM bouncer_suppress(p_recipient, NULL, 'soft-bounces',
                                     v_count || ' soft bounces, last ' || v_detail, v_event,
                                     now() + p_soft_period);
        END IF;
    END IF;
    RETURN v_id;
END;
$$;

-- bouncer_record_complaint - one complained-about recipient: its row, a
-- 'complaint' event, and suppression for that organisation only; none when
-- the organisation is unknown (fbl@ takes mail from anyone).
CREATE FUNCTION bouncer_record_complaint(
    p_inbound_id bigint, p_org_id bigint, p_message_id bigint, p_recipient text,
    p_feedback_type text, p_reporting_mta text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id    bigint;
    v_event bigint;
BEGIN
    INSERT INTO complaints (inbound_id, org_id, message_id, recipient, feedback_type,
                            reporting_mta)
    VALUES (p_inbound_id, p_org_id, p_message_id, p_recipient, p_feedback_type,
            p_reporting_mta)
    RETURNING id INTO v_id;
    INSERT INTO events (type, org_id, payload)
    VALUES ('complaint', p_org_id, jsonb_build_object(
        'type', 'complaint', 'time', now(), 'org_id', p_org_id, 'message_id', p_message_id,
        'recipient', p_recipient, 'feedback_type', p_feedback_type,
        'reporting_mta', p_reporting_mta, 'inbound_id', p_inbound_id, 'complaint_id', v_id))
    RETURNING id INTO v_event;
    IF p_recipient <> '' AND p_org_id IS NOT NULL THEN
        PERFORM bouncer_suppress(p_recipient, p_org_id, 'complaint',
                                 'complaint ' || p_feedback_type, v_event, NULL);
    END IF;
    RETURN v_id;
END;
$$;
