/* deferred_libs.c - the shared libraries bin/bouncerctl links but a
 * parse never calls, loaded on their first call instead of at start-up.
 *
 * bin/bouncerctl takes the GLib stack and GMime from their archives
 * (scripts/static-libs.sh). What those still need from shared libraries is
 * GIO's mount table and SELinux labels (libmount, libselinux, and libblkid
 * and a second PCRE2 behind them) and GMime's OpenPGP and international
 * domain names (gpgme with libassuan and libgpg-error; libidn2 with
 * libunistring): nine objects the dynamic loader maps and relocates at
 * every start, about 3 ms of a 37 ms parse of the shared corpus on a
 * small virtual machine (docs/performance.md), and a parse calls none of
 * them. Each function bin/bouncerctl refers to is defined here with the
 * prototype of its library's header, so a mismatch fails to compile; its
 * first call opens the library (dlopen) and every call goes to the
 * library's own function. The libraries stay on the link line after this
 * object: a function a later GMime or GLib calls that is not listed here
 * is taken from its library, which then loads at start as before (and
 * test_parse_cli says so).
 *
 * One call is not forwarded at once: g_mime_init() calls
 * gpgme_check_version(NULL) only to have gpgme initialise itself, and
 * ignores what it returns. That is done when gpgme is first opened for a
 * real call, before that call, as gpgme asks; the version string GMime is
 * given is the one the header was built with.
 *
 * A library that cannot be opened, or lacks a function, stops the run as
 * the dynamic loader would have stopped it at start (status 127), after
 * the lines already parsed. The sonames are those of the libraries the
 * build found (scripts/sonames.sh).
 *
 * The Makefile links this object only when GMime is linked in; without
 * the four headers it is empty, and the libraries load at start as
 * before. */
#if __has_include(<gpgme.h>) && __has_include(<idn2.h>) && __has_include(<libmount.h>) \
    && __has_include(<selinux/selinux.h>)
#include <dlfcn.h>
#include <glib.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <gpgme.h>
#include <idn2.h>
#include <libmount.h>
#include <selinux/selinux.h>

typedef struct {
    const char *soname;
    gsize handle;     /* (void *) once opened; g_once_init_* guards it */
} DeferredLib;

/* The sonames of the libraries the build found (the Makefile reads them
 * from the libraries' own dynamic sections); these are Debian 12's. */
#ifndef DEFERRED_SONAME_GPGME
#define DEFERRED_SONAME_GPGME "libgpgme.so.11"
#endif
#ifndef DEFERRED_SONAME_IDN2
#define DEFERRED_SONAME_IDN2 "libidn2.so.0"
#endif
#ifndef DEFERRED_SONAME_MOUNT
#define DEFERRED_SONAME_MOUNT "libmount.so.1"
#endif
#ifndef DEFERRED_SONAME_SELINUX
#define DEFERRED_SONAME_SELINUX "libselinux.so.1"
#endif

static DeferredLib lib_gpgme   = { DEFERRED_SONAME_GPGME, 0 };
static DeferredLib lib_idn2    = { DEFERRED_SONAME_IDN2, 0 };
static DeferredLib lib_mount   = { DEFERRED_SONAME_MOUNT, 0 };
static DeferredLib lib_selinux = { DEFERRED_SONAME_SELINUX, 0 };

/* deferred_missing - the library or function is not there: what the
 * dynamic loader does when a library is missing at start (exit status
 * 127), after the lines already written. The lines not yet written are
 * lost: the run cannot go on without a function GMime or GIO called. */
G_GNUC_NORETURN static void
deferred_missing(const DeferredLib *lib, const char *what)
{
    fflush(stdout);
    fprintf(stderr, "bouncerctl: cannot load %s: %s\n", lib->soname, what);
    _exit(127);
}

static void *
deferred_open(DeferredLib *lib)
{
    if (g_once_init_enter(&lib->handle)) {
        void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);

        if (handle == NULL)
            deferred_missing(lib, dlerror());
        if (lib == &lib_gpgme) {
            /* The initialisation gpgme_check_version(NULL) asks of it,
             * put off from g_mime_init: with this header's offset, as the
             * macro passes it. */
            const char *(*check)(const char *, size_t) =
                (const char *(*)(const char *, size_t))dlsym(handle, "gpgme_check_version_internal");

            if (check != NULL)
                check(NULL, offsetof(struct _gpgme_signature, validity));
        }
        g_once_init_leave(&lib->handle, (gsize)handle);
    }
    return (void *)lib->handle;
}

static void *
deferred_symbol(DeferredLib *lib, const char *name)
{
    void *fn = dlsym(deferred_open(lib), name);

    if (fn == NULL)
        deferred_missing(lib, dlerror());
    return fn;
}

/* DEFERRED(lib, type, name, (params), (args)) - name, which calls the
 * library's own name. Its address is looked up on the first call; two
 * threads may both look it up, and store the same value. */
#define DEFERRED_CALL(lib, type, name, params)                                   \
    static gpointer name##_fn;                                                   \
    type (*fn) params = (type (*) params)g_atomic_pointer_get(&name##_fn);       \
    if (fn == NULL) {                                                            \
        fn = (type (*) params)deferred_symbol(&lib, #name);                      \
        g_atomic_pointer_set(&name##_fn, (gpointer)fn);                          \
    }
#define DEFERRED(lib, type, name, params, args)                                  \
    type name params                                                             \
    {                                                                            \
        DEFERRED_CALL(lib, type, name, params)                                   \
        return fn args;                                                          \
    }
#define DEFERRED_VOID(lib, name, params, args)                                   \
    void name params                                                             \
    {                                                                            \
        DEFERRED_CALL(lib, void, name, params)                                   \
        fn args;                                                                 \
    }

/* --- gpgme (GMime's OpenPGP) ------------------------------------------- */

const char *
gpgme_check_version_internal(const char *req_version, size_t offset_sig_validity)
{
    if (req_version == NULL && g_atomic_pointer_get(&lib_gpgme.handle) == 0)
        return GPGME_VERSION;
    DEFERRED_CALL(lib_gpgme, const char *, gpgme_check_version_internal,
                  (const char *, size_t))
    return fn(req_version, offset_sig_validity);
}

DEFERRED(lib_gpgme, gpgme_error_t, gpgme_data_new_from_cbs,
         (gpgme_data_t *dh, gpgme_data_cbs_t cbs, void *handle), (dh, cbs, handle))
DEFERRED_VOID(lib_gpgme, gpgme_data_release, (gpgme_data_t dh), (dh))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_engine_check_version, (gpgme_protocol_t proto), (proto))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_get_key,
         (gpgme_ctx_t ctx, const char *fpr, gpgme_key_t *r_key, int secret), (ctx, fpr, r_key, secret))
DEFERRED(lib_gpgme, gpgme_keylist_mode_t, gpgme_get_keylist_mode, (gpgme_ctx_t ctx), (ctx))
DEFERRED(lib_gpgme, gpgme_protocol_t, gpgme_get_protocol, (gpgme_ctx_t ctx), (ctx))
DEFERRED_VOID(lib_gpgme, gpgme_key_unref, (gpgme_key_t key), (key))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_new, (gpgme_ctx_t *ctx), (ctx))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_decrypt,
         (gpgme_ctx_t ctx, gpgme_data_t cipher, gpgme_data_t plain), (ctx, cipher, plain))
DEFERRED(lib_gpgme, gpgme_decrypt_result_t, gpgme_op_decrypt_result, (gpgme_ctx_t ctx), (ctx))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_decrypt_verify,
         (gpgme_ctx_t ctx, gpgme_data_t cipher, gpgme_data_t plain), (ctx, cipher, plain))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_encrypt,
         (gpgme_ctx_t ctx, gpgme_key_t recp[], gpgme_encrypt_flags_t flags, gpgme_data_t plain,
          gpgme_data_t cipher),
         (ctx, recp, flags, plain, cipher))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_encrypt_sign,
         (gpgme_ctx_t ctx, gpgme_key_t recp[], gpgme_encrypt_flags_t flags, gpgme_data_t plain,
          gpgme_data_t cipher),
         (ctx, recp, flags, plain, cipher))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_export_ext,
         (gpgme_ctx_t ctx, const char *pattern[], gpgme_export_mode_t mode, gpgme_data_t keydata),
         (ctx, pattern, mode, keydata))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_import, (gpgme_ctx_t ctx, gpgme_data_t keydata),
         (ctx, keydata))
DEFERRED(lib_gpgme, gpgme_import_result_t, gpgme_op_import_result, (gpgme_ctx_t ctx), (ctx))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_keylist_end, (gpgme_ctx_t ctx), (ctx))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_keylist_next, (gpgme_ctx_t ctx, gpgme_key_t *r_key),
         (ctx, r_key))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_keylist_start,
         (gpgme_ctx_t ctx, const char *pattern, int secret_only), (ctx, pattern, secret_only))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_sign,
         (gpgme_ctx_t ctx, gpgme_data_t plain, gpgme_data_t sig, gpgme_sig_mode_t mode),
         (ctx, plain, sig, mode))
DEFERRED(lib_gpgme, gpgme_sign_result_t, gpgme_op_sign_result, (gpgme_ctx_t ctx), (ctx))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_op_verify,
         (gpgme_ctx_t ctx, gpgme_data_t sig, gpgme_data_t signed_text, gpgme_data_t plaintext),
         (ctx, sig, signed_text, plaintext))
DEFERRED(lib_gpgme, gpgme_verify_result_t, gpgme_op_verify_result, (gpgme_ctx_t ctx), (ctx))
DEFERRED_VOID(lib_gpgme, gpgme_release, (gpgme_ctx_t ctx), (ctx))
DEFERRED_VOID(lib_gpgme, gpgme_set_armor, (gpgme_ctx_t ctx, int yes), (ctx, yes))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_set_ctx_flag,
         (gpgme_ctx_t ctx, const char *name, const char *value), (ctx, name, value))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_set_keylist_mode,
         (gpgme_ctx_t ctx, gpgme_keylist_mode_t mode), (ctx, mode))
DEFERRED_VOID(lib_gpgme, gpgme_set_offline, (gpgme_ctx_t ctx, int yes), (ctx, yes))
DEFERRED_VOID(lib_gpgme, gpgme_set_passphrase_cb,
              (gpgme_ctx_t ctx, gpgme_passphrase_cb_t cb, void *hook_value), (ctx, cb, hook_value))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_set_protocol, (gpgme_ctx_t ctx, gpgme_protocol_t proto),
         (ctx, proto))
DEFERRED_VOID(lib_gpgme, gpgme_set_textmode, (gpgme_ctx_t ctx, int yes), (ctx, yes))
DEFERRED(lib_gpgme, gpgme_error_t, gpgme_signers_add, (gpgme_ctx_t ctx, const gpgme_key_t key),
         (ctx, key))
DEFERRED_VOID(lib_gpgme, gpgme_signers_clear, (gpgme_ctx_t ctx), (ctx))
DEFERRED(lib_gpgme, const char *, gpgme_strerror, (gpgme_error_t err), (err))

/* --- libidn2 (GMime's international domain names) --------------------- */

DEFERRED_VOID(lib_idn2, idn2_free, (void *ptr), (ptr))
DEFERRED(lib_idn2, int, idn2_to_ascii_8z, (const char *input, char **output, int flags),
         (input, output, flags))
DEFERRED(lib_idn2, int, idn2_to_unicode_8z8z, (const char *input, char **output, int flags),
         (input, output, flags))

/* --- libmount (GIO's mount table) -------------------------------------- */

DEFERRED_VOID(lib_mount, mnt_free_iter, (struct libmnt_iter *itr), (itr))
DEFERRED_VOID(lib_mount, mnt_free_table, (struct libmnt_table *tb), (tb))
DEFERRED(lib_mount, const char *, mnt_fs_get_fstype, (struct libmnt_fs *fs), (fs))
DEFERRED(lib_mount, const char *, mnt_fs_get_options, (struct libmnt_fs *fs), (fs))
DEFERRED(lib_mount, const char *, mnt_fs_get_root, (struct libmnt_fs *fs), (fs))
DEFERRED(lib_mount, const char *, mnt_fs_get_source, (struct libmnt_fs *fs), (fs))
DEFERRED(lib_mount, const char *, mnt_fs_get_target, (struct libmnt_fs *fs), (fs))
DEFERRED(lib_mount, char *, mnt_fs_strdup_options, (struct libmnt_fs *fs), (fs))
DEFERRED(lib_mount, const struct libmnt_optmap *, mnt_get_builtin_optmap, (int id), (id))
DEFERRED(lib_mount, const char *, mnt_get_fstab_path, (void), ())
DEFERRED(lib_mount, int, mnt_has_regular_mtab, (const char **mtab, int *writable), (mtab, writable))
DEFERRED(lib_mount, struct libmnt_iter *, mnt_new_iter, (int direction), (direction))
DEFERRED(lib_mount, struct libmnt_table *, mnt_new_table, (void), ())
DEFERRED(lib_mount, int, mnt_optstr_get_flags,
         (const char *optstr, unsigned long *flags, const struct libmnt_optmap *map),
         (optstr, flags, map))
DEFERRED(lib_mount, int, mnt_table_next_fs,
         (struct libmnt_table *tb, struct libmnt_iter *itr, struct libmnt_fs **fs), (tb, itr, fs))
DEFERRED(lib_mount, int, mnt_table_parse_fstab, (struct libmnt_table *tb, const char *filename),
         (tb, filename))
DEFERRED(lib_mount, int, mnt_table_parse_mtab, (struct libmnt_table *tb, const char *filename),
         (tb, filename))

/* --- libselinux (GIO's file labels) ------------------------------------ */

DEFERRED(lib_selinux, int, fgetfilecon_raw, (int fd, char **con), (fd, con))
DEFERRED_VOID(lib_selinux, freecon, (char *con), (con))
DEFERRED(lib_selinux, int, getfilecon_raw, (const char *path, char **con), (path, con))
DEFERRED(lib_selinux, int, is_selinux_enabled, (void), ())
DEFERRED(lib_selinux, int, lgetfilecon_raw, (const char *path, char **con), (path, con))
DEFERRED(lib_selinux, int, setfilecon_raw, (const char *path, const char *con), (path, con))

#endif /* the four headers */
