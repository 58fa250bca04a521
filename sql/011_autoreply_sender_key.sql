-- 011: the auto-reply rate limit counts one mailbox once, whatever its
-- address looks like. It compared lower(sender), so the same mailbox
-- written with a +detail, a BATV tag or an SRS rewrite was a new sender
-- each time: a forger could make us answer one victim up to the hourly
-- cap, and a sender whose MTA signs its envelope (BATV) was answered
-- on every message.
--
-- bouncer_sender_key(address): lower case; BATV and Microsoft's signed
-- bounce addresses (prvs=TAG=user, msprvs1=TAG=user, btv1==TAG==user)
-- unwrapped; SRS0 and SRS1 (SRS0=HASH=TT=domain=user@forwarder) turned
-- back into user@domain; a +detail dropped.
CREATE FUNCTION bouncer_sender_key(address text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(
             regexp_replace(
               regexp_replace(
                 regexp_replace(lower(address),
                   '^(?:prvs|msprvs1)=[^=@]*=|^btv1==[^=@]*==', ''),
                 '^srs1=[^=@]*=[^=@]*==[^=@]*=[^=@]*=([^=@]+)=([^@]+)@.*$', '\2@\1'),
               '^srs0=[^=@]*=[^=@]*=([^=@]+)=([^@]+)@.*$', '\2@\1'),
             '^([^@+]+)\+[^@]*@', '\1@')
$$;

DROP INDEX autoreplies_sender_replied;
CREATE INDEX autoreplies_sender_replied ON autoreplies (bouncer_sender_key(sender), received_at)
    WHERE decision = 'replied';
