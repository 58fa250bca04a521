-- 019: the stored messages are compressed with lz4 instead of pglz.
--
-- A value over about 2 kB is compressed before it is stored, and half of
-- real bounces are (they carry the original's headers or the whole
-- original: the shared corpus of 415 has a median of 2.7 kB, a tenth over
-- 6.8 kB). PostgreSQL's own pglz is slow at it: bouncer_store_inbound()
-- on those 415, ten times each, took 64-67 us a message with pglz and
-- 31-35 with lz4, and lz4 stored the compressed ones in 7% less space
-- (2 771 bytes against 2 964 for 5.4 kB). lz4 also reads back faster (a
-- forward is composed from the stored report).
--
-- Only values written from now on change; those stored keep pglz and read
-- as before. Setting it changes no rows, so it is instant. lz4 needs
-- PostgreSQL 14 built with it (Debian's and the PGDG packages are); on a
-- server without it the columns keep pglz.

DO $$
BEGIN
    IF current_setting('server_version_num')::int < 140000 THEN
        RAISE NOTICE 'PostgreSQL before 14: stored messages stay compressed with pglz';
        RETURN;
    END IF;
    BEGIN
        EXECUTE 'ALTER TABLE inbound_messages ALTER COLUMN raw SET COMPRESSION lz4';
        EXECUTE 'ALTER TABLE outbox ALTER COLUMN message SET COMPRESSION lz4';
    EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'this PostgreSQL has no lz4: stored messages stay compressed with pglz';
    END;
END;
$$;
