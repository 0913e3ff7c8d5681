
/*
 * ngx_http_coldrl_module: learned eviction for proxy_cache through the coldrl sidecar.
 *
 * Route: "wrap the cache path's manager" (module only, Debian's stock binary). In init_module the
 * manager of every file cache path (ngx_path_t->manager) is replaced by ngx_http_coldrl_manager, which
 * runs in the cache manager process: while the cache is over max_size (or its node watermark) it
 *   1. snapshots K deletable candidates (count == 0, exists, !deleting) under the cache mutex,
 *      from the LRU tail, a uniform sample of the module's resident index, a mix of both, or the K
 *      best of a 4K uniform sample by one key: largest, fewest lifetime requests, fewest requests per
 *      byte, or that aged by idle time; or perbyte's K of a 4K sample drawn by size, or perbyte's or
 *      aged's or overdue's K of 2K uniform and 2K by-size draws (coldrl_candidates; default overdue, as
 *      replay/candidates.ts DEFAULT_SOURCE),
 *   2. UNLOCKS, computes the features of replay/features.ts (spec 1) from the node plus the module's
 *      side table, sends one framed DecideRequest (proto/README.md) over a persistent Unix socket and
 *      waits with a microsecond deadline (ppoll),
 *   3. re-locks and deletes each victim after re-validating it by key (still there, count == 0, not
 *      requested since).
 * Any other outcome (a late, malformed or missing answer, the sidecar down or answering FALLBACK), and
 * every decision in shadow mode once the model's choice is logged, deletes nothing: the module stops and
 * hands the run to the stock manager, which runs afterwards in every case (`inactive` expiry, then
 * forced_expire from the LRU tail while the cache is over its limits), so a fallback is nginx's own LRU.
 * Three timeouts or bad replies in a row open a breaker: decisions then skip the sidecar for a growing
 * period (ngx_http_coldrl_breaker), and reconnects back off after short-lived connections.
 * Workers that find the keys zone full still call the stock forced_expire (not interceptable without a
 * core patch).
 *
 * The side table (the module's own shared memory, keyed by the 16-byte cache key) is filled in the log
 * phase from $upstream_response_length, $upstream_response_time and the upstream's Cache-Control /
 * Expires, mirroring how replay/formats/nginx-source.ts reads the same access-log fields, and keeps the
 * lifetime request count across evictions. Its dense index of resident entries gives O(1) uniform samples,
 * and with each entry's size at hand the size-biased selection needs no cache mutex.
 *
 * Never holds the cache mutex and the side-table mutex at once; never does I/O under either.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>
#include <poll.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>


#define COLDRL_FEATURE_SPEC_VERSION  1
#define COLDRL_FEATURE_COUNT         8
#define COLDRL_MAX_K                 64
#define COLDRL_PROBES                16
#define COLDRL_MAX_CACHES            32
#define COLDRL_MAX_FRAME             65536
#define COLDRL_NBOUNDS               11
#define COLDRL_PING_FLAG             ((uint64_t) 1 << 62)
#define COLDRL_MIN_INTERVAL          10          /* ms, coldrl_interval */

#define COLDRL_SRC_TAIL              0
#define COLDRL_SRC_SAMPLE            1
#define COLDRL_SRC_MIXED             2
#define COLDRL_SRC_LARGE             3
#define COLDRL_SRC_RARE              4
#define COLDRL_SRC_PERBYTE           5
#define COLDRL_SRC_AGED              6
#define COLDRL_SRC_WEIGHTED          7
#define COLDRL_SRC_BLEND             8
#define COLDRL_SRC_AGEDBLEND         9
#define COLDRL_SRC_OVERDUE           10
/* proto/coldrl.proto CandidateSource: CANDIDATES_TAIL = 1 ... _OVERDUE = 11, in the order above */
#define COLDRL_WIRE_SOURCE(src)      ((src) + 1)
/* the sources that keep the K best of 4K draws (uniform, by size, or half and half) */
#define COLDRL_SRC_BIASED(src)       ((src) >= COLDRL_SRC_LARGE)

/* uniform draws per candidate for the biased sources (replay/candidates.ts OVERSAMPLE) */
#define COLDRL_OVERSAMPLE            4
/* index entries a uniform draw of d looks at, at most d x this (other caches' entries are skipped) */
#define COLDRL_DRAW_STEPS            8

/* outcomes of one sidecar round trip */
#define COLDRL_ASK_MODEL             0
#define COLDRL_ASK_SIDECAR_FALLBACK  1
#define COLDRL_ASK_TIMEOUT           2
#define COLDRL_ASK_CONNECT           3
#define COLDRL_ASK_BAD_REPLY         4
#define COLDRL_ASK_BREAKER           5           /* not asked: the breaker is open */

/* reconnects back off (100 ms doubling to 5 s) after a connection that lived less than this (ms) */
#define COLDRL_CONN_MIN_LIFE         1000
/*
 * the breaker: after this many timeouts or bad replies in a row the sidecar is skipped for a period,
 * at first the larger of 1 s and 10 x coldrl_timeout, doubling while the sidecar fails, up to the
 * larger of 60 s and that first period; closed by a model answer
 */
#define COLDRL_BREAKER_STREAK        3
#define COLDRL_BREAKER_MIN           1000
#define COLDRL_BREAKER_MAX           60000


typedef struct {
    u_char                      key[NGX_HTTP_CACHE_KEY_LEN];
    uint32_t                    used;
    uint32_t                    resident;
    uint32_t                    dense;
    uint32_t                    hits;
    uint32_t                    zone;         /* its cache: ngx_http_coldrl_zone_tag() */
    double                      created;      /* seconds */
    double                      last;
    double                      prev;         /* -1: none */
    double                      expires;      /* +Inf: no TTL */
    double                      size;         /* bytes */
    double                      rtt;          /* ms */
    double                      requests;     /* lifetime */
    double                      first;        /* its first request (lifetime) */
} ngx_http_coldrl_entry_t;


typedef struct {
    ngx_atomic_t                decisions;
    ngx_atomic_t                model_decisions;
    ngx_atomic_t                shadow_decisions;
    ngx_atomic_t                model_evictions;
    ngx_atomic_t                handed_to_nginx;  /* decisions left to nginx's own manager */
    ngx_atomic_t                tail_placeholder; /* runs left to it before deciding: see evict_once */
    ngx_atomic_t                tail_expired;
    ngx_atomic_t                evicted_bytes;
    ngx_atomic_t                candidates;
    ngx_atomic_t                collect_ns;   /* time spent collecting candidates */
    ngx_atomic_t                revalidation_misses;
    ngx_atomic_t                fb_timeout;
    ngx_atomic_t                fb_connect;
    ngx_atomic_t                fb_bad_reply;
    ngx_atomic_t                fb_sidecar;
    ngx_atomic_t                fb_breaker;   /* decisions the open breaker handed to nginx unasked */
    ngx_atomic_t                breaker_open;
    ngx_atomic_t                breaker_opens;
    ngx_atomic_t                connects;
    ngx_atomic_t                connect_failures;
    ngx_atomic_t                connected;
    ngx_atomic_t                pings;
    ngx_atomic_t                lat_count;
    ngx_atomic_t                lat_sum_us;
    ngx_atomic_t                lat_bucket[COLDRL_NBOUNDS + 1];
    ngx_atomic_t                tracked;
    ngx_atomic_t                stored;
    ngx_atomic_t                hits;
} ngx_http_coldrl_counters_t;


typedef struct {
    ngx_http_coldrl_counters_t  c;
    uint32_t                    nslots;       /* power of two */
    uint32_t                    nused;
    uint32_t                    nresident;
    uint32_t                   *dense;        /* slots of resident entries */
    ngx_http_coldrl_entry_t    *table;
    /* resident sizes by slot (0: not resident) and their Fenwick tree (1-based), for `weighted` */
    double                     *weight;
    double                     *tree;
    double                      wtotal;
} ngx_http_coldrl_shctx_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_flag_t                  shadow;
    ngx_flag_t                  log_features;
    ngx_str_t                   socket;
    ngx_uint_t                  k;
    ngx_uint_t                  timeout_us;
    ngx_uint_t                  source;
    ngx_msec_t                  interval;
    ngx_msec_t                  keepalive;
    size_t                      zone_size;
    ngx_flag_t                  status_used;
    ngx_shm_zone_t             *zone;
    ngx_int_t                   v_up_len;
    ngx_int_t                   v_up_rt;
    ngx_int_t                   v_up_ht;
    ngx_int_t                   v_up_cc;
    ngx_int_t                   v_up_expires;
    ngx_int_t                   v_up_xae;
    ngx_int_t                   v_accept;
    ngx_int_t                   v_arg_format;
} ngx_http_coldrl_main_conf_t;


typedef struct {
    ngx_http_file_cache_t      *cache;
    ngx_path_manager_pt         orig;
} ngx_http_coldrl_wrap_t;


/* one candidate of a decision, snapshot taken under the cache mutex */
typedef struct {
    u_char                      key[NGX_HTTP_CACHE_KEY_LEN];
    off_t                       fs_size;      /* blocks */
    ngx_file_uniq_t             uniq;         /* the stored copy's inode */
    ngx_uint_t                  uses;
    time_t                      expire;
    double                      last;
    float                       f[COLDRL_FEATURE_COUNT];
} ngx_http_coldrl_cand_t;


typedef struct {
    uint64_t                    request_id;
    uint64_t                    victims;
    ngx_uint_t                  source;
    ngx_uint_t                  reason;
    ngx_uint_t                  server_us;
    ngx_uint_t                  has_error;
} ngx_http_coldrl_reply_t;


static ngx_int_t ngx_http_coldrl_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_coldrl_postconf(ngx_conf_t *cf);
static void *ngx_http_coldrl_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_coldrl_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_coldrl_timeout(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_coldrl_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_coldrl_check_interval(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_coldrl_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);

static ngx_int_t ngx_http_coldrl_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_coldrl_status_handler(ngx_http_request_t *r);

static ngx_msec_t ngx_http_coldrl_manager(void *data);
static ngx_int_t ngx_http_coldrl_evict_once(ngx_http_file_cache_t *cache);
static ngx_uint_t ngx_http_coldrl_collect(ngx_http_file_cache_t *cache,
    ngx_uint_t k, ngx_uint_t source, double now);
static ngx_uint_t ngx_http_coldrl_collect_tail(ngx_http_file_cache_t *cache,
    ngx_uint_t k, ngx_uint_t n);
static ngx_uint_t ngx_http_coldrl_collect_index(
    ngx_http_file_cache_t *cache, ngx_uint_t k, ngx_uint_t n,
    ngx_uint_t source, double now);
static uint32_t ngx_http_coldrl_zone_tag(ngx_http_file_cache_t *cache);
static ngx_uint_t ngx_http_coldrl_draw(ngx_http_coldrl_shctx_t *sh,
    ngx_uint_t d, ngx_uint_t n, uint32_t zone);
static ngx_uint_t ngx_http_coldrl_draw_by_size(ngx_http_coldrl_shctx_t *sh,
    ngx_uint_t d, ngx_uint_t from, uint32_t zone);
static ngx_uint_t ngx_http_coldrl_keep_best(ngx_http_coldrl_shctx_t *sh,
    ngx_uint_t m, ngx_uint_t want, ngx_uint_t source, double now);
static void ngx_http_coldrl_features(ngx_http_file_cache_t *cache,
    ngx_uint_t n, double now);
static ngx_uint_t ngx_http_coldrl_delete(ngx_http_file_cache_t *cache,
    ngx_http_coldrl_cand_t *cand, u_char *name, off_t *freed);
static ngx_http_file_cache_node_t *ngx_http_coldrl_lookup(
    ngx_http_file_cache_t *cache, u_char *key);

static uint64_t ngx_http_coldrl_now_ns(void);
static ngx_int_t ngx_http_coldrl_ask(ngx_uint_t n, uint64_t need,
    size_t bsize, ngx_http_coldrl_reply_t *rep, ngx_uint_t *us);
static ngx_int_t ngx_http_coldrl_connect(void);
static void ngx_http_coldrl_close(const char *why, ngx_uint_t protocol);
static ngx_int_t ngx_http_coldrl_gate(void);
static void ngx_http_coldrl_breaker(ngx_int_t outcome);
static size_t ngx_http_coldrl_encode(u_char *buf, uint64_t id, ngx_uint_t n,
    uint64_t need, ngx_uint_t budget_us, size_t bsize);
static ngx_int_t ngx_http_coldrl_read_frames(uint64_t want,
    ngx_http_coldrl_reply_t *rep);
static ngx_int_t ngx_http_coldrl_parse_reply(u_char *p, u_char *last,
    ngx_http_coldrl_reply_t *rep);
static void ngx_http_coldrl_keepalive_handler(ngx_event_t *ev);

static ngx_http_coldrl_entry_t *ngx_http_coldrl_side_find(
    ngx_http_coldrl_shctx_t *sh, u_char *key, ngx_uint_t create);
static void ngx_http_coldrl_side_resident(ngx_http_coldrl_shctx_t *sh,
    ngx_http_coldrl_entry_t *e, ngx_uint_t resident);
static void ngx_http_coldrl_weight(ngx_http_coldrl_shctx_t *sh,
    uint32_t slot, double w);


static ngx_conf_enum_t  ngx_http_coldrl_sources[] = {
    { ngx_string("tail"), COLDRL_SRC_TAIL },
    { ngx_string("sample"), COLDRL_SRC_SAMPLE },
    { ngx_string("mixed"), COLDRL_SRC_MIXED },
    { ngx_string("large"), COLDRL_SRC_LARGE },
    { ngx_string("rare"), COLDRL_SRC_RARE },
    { ngx_string("perbyte"), COLDRL_SRC_PERBYTE },
    { ngx_string("aged"), COLDRL_SRC_AGED },
    { ngx_string("weighted"), COLDRL_SRC_WEIGHTED },
    { ngx_string("blend"), COLDRL_SRC_BLEND },
    { ngx_string("agedblend"), COLDRL_SRC_AGEDBLEND },
    { ngx_string("overdue"), COLDRL_SRC_OVERDUE },
    { ngx_null_string, 0 }
};

static const char  *ngx_http_coldrl_source_names[] = {
    "tail", "sample", "mixed", "large", "rare", "perbyte", "aged", "weighted",
    "blend", "agedblend", "overdue"
};

/* by COLDRL_ASK_*: the name in the decision log line and the counter it adds to */
static const char  *ngx_http_coldrl_outcome_names[] = {
    "model", "sidecar_fallback", "timeout", "connect", "bad_reply", "breaker"
};

static const size_t  ngx_http_coldrl_outcome_counter[] = {
    offsetof(ngx_http_coldrl_counters_t, model_decisions),
    offsetof(ngx_http_coldrl_counters_t, fb_sidecar),
    offsetof(ngx_http_coldrl_counters_t, fb_timeout),
    offsetof(ngx_http_coldrl_counters_t, fb_connect),
    offsetof(ngx_http_coldrl_counters_t, fb_bad_reply),
    offsetof(ngx_http_coldrl_counters_t, fb_breaker)
};

static ngx_conf_num_bounds_t  ngx_http_coldrl_k_bounds = {
    ngx_conf_check_num_bounds, 1, COLDRL_MAX_K
};

static ngx_conf_post_t  ngx_http_coldrl_interval_post = {
    ngx_http_coldrl_check_interval
};


static ngx_command_t  ngx_http_coldrl_commands[] = {

    { ngx_string("coldrl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, enable),
      NULL },

    { ngx_string("coldrl_socket"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, socket),
      NULL },

    { ngx_string("coldrl_k"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, k),
      &ngx_http_coldrl_k_bounds },

    { ngx_string("coldrl_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_coldrl_timeout,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, timeout_us),
      NULL },

    { ngx_string("coldrl_shadow"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, shadow),
      NULL },

    { ngx_string("coldrl_candidates"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, source),
      &ngx_http_coldrl_sources },

    { ngx_string("coldrl_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, interval),
      &ngx_http_coldrl_interval_post },

    { ngx_string("coldrl_keepalive"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, keepalive),
      NULL },

    { ngx_string("coldrl_zone_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, zone_size),
      NULL },

    { ngx_string("coldrl_log_features"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_coldrl_main_conf_t, log_features),
      NULL },

    { ngx_string("coldrl_status"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_coldrl_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_coldrl_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_coldrl_postconf,              /* postconfiguration */

    ngx_http_coldrl_create_main_conf,      /* create main configuration */
    ngx_http_coldrl_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_coldrl_module = {
    NGX_MODULE_V1,
    &ngx_http_coldrl_module_ctx,           /* module context */
    ngx_http_coldrl_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_coldrl_init_module,           /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* replay/features.ts FEATURE_CAPS, index-aligned with FEATURE_NAMES */
static const double  ngx_http_coldrl_caps[COLDRL_FEATURE_COUNT] = {
    604800, 1073741824, 1023, 604800, 604800, 60000, 604800, 1048575
};

static const ngx_uint_t  ngx_http_coldrl_lat_bounds[COLDRL_NBOUNDS] = {
    50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000, 50000
};

static double  ngx_http_coldrl_inv_log_cap[COLDRL_FEATURE_COUNT];


/* per-process state (used in the cache manager process only) */

static ngx_http_coldrl_main_conf_t  *ngx_http_coldrl_mcf;
static ngx_http_coldrl_wrap_t        ngx_http_coldrl_wraps[COLDRL_MAX_CACHES];
static ngx_uint_t                    ngx_http_coldrl_nwraps;
/* the candidate source of the decision under way (coldrl_candidates, or sample for a count-bound one) */
static ngx_uint_t                    ngx_http_coldrl_source;

static ngx_http_coldrl_cand_t        ngx_http_coldrl_cands[COLDRL_MAX_K];
static u_char                        ngx_http_coldrl_picked[COLDRL_MAX_K]
                                                 [NGX_HTTP_CACHE_KEY_LEN];
static uint32_t                      ngx_http_coldrl_drawn[COLDRL_OVERSAMPLE
                                                           * COLDRL_MAX_K];
/* the weight each drawn slot had, while draw_by_size holds it out of the tree */
/* by-size draws of another cache's entries, their weights held out until the draws end */
static uint32_t                      ngx_http_coldrl_foreign[COLDRL_OVERSAMPLE
                                                             * COLDRL_MAX_K];
static double                        ngx_http_coldrl_foreign_w[COLDRL_OVERSAMPLE
                                                               * COLDRL_MAX_K];
static double                        ngx_http_coldrl_taken[COLDRL_OVERSAMPLE
                                                           * COLDRL_MAX_K];
/* the key of each drawn[i], moved with it (keep_best) */
static double                        ngx_http_coldrl_keys[COLDRL_OVERSAMPLE
                                                          * COLDRL_MAX_K];

static int                           ngx_http_coldrl_fd = -1;
static ngx_msec_t                    ngx_http_coldrl_retry_at;
static ngx_msec_t                    ngx_http_coldrl_backoff;
static ngx_msec_t                    ngx_http_coldrl_connected_at;
/* the breaker: timeouts and bad replies in a row, the period it is open for (0: closed), until when */
static ngx_uint_t                    ngx_http_coldrl_streak;
static ngx_msec_t                    ngx_http_coldrl_open_ms;
static ngx_msec_t                    ngx_http_coldrl_open_until;
static uint64_t                      ngx_http_coldrl_seq;
static u_char                        ngx_http_coldrl_rx[8192];
static size_t                        ngx_http_coldrl_rx_len;
static u_char                        ngx_http_coldrl_tx[8192];
static ngx_event_t                   ngx_http_coldrl_ka_ev;
static ngx_uint_t                    ngx_http_coldrl_ka_armed;


/* ---- configuration ---- */

static void *
ngx_http_coldrl_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_coldrl_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_coldrl_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->enable = NGX_CONF_UNSET;
    mcf->shadow = NGX_CONF_UNSET;
    mcf->log_features = NGX_CONF_UNSET;
    mcf->k = NGX_CONF_UNSET_UINT;
    mcf->timeout_us = NGX_CONF_UNSET_UINT;
    mcf->source = NGX_CONF_UNSET_UINT;
    mcf->interval = NGX_CONF_UNSET_MSEC;
    mcf->keepalive = NGX_CONF_UNSET_MSEC;
    mcf->zone_size = NGX_CONF_UNSET_SIZE;

    return mcf;
}


static char *
ngx_http_coldrl_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_coldrl_main_conf_t *mcf = conf;

    ngx_str_t  name = ngx_string("coldrl_module");

    ngx_conf_init_value(mcf->enable, 0);
    ngx_conf_init_value(mcf->shadow, 0);
    ngx_conf_init_value(mcf->log_features, 0);
    ngx_conf_init_uint_value(mcf->k, 64);   /* the trainer's default K (trainer/hparams.ts) */
    ngx_conf_init_uint_value(mcf->timeout_us, 500);
    ngx_conf_init_uint_value(mcf->source, COLDRL_SRC_OVERDUE);
    ngx_conf_init_msec_value(mcf->interval, 200);
    ngx_conf_init_msec_value(mcf->keepalive, 1000);
    ngx_conf_init_size_value(mcf->zone_size, 8 * 1024 * 1024);

    if (mcf->socket.len == 0) {
        ngx_str_set(&mcf->socket, "/run/coldrl/sidecar.sock");
    }

    if (mcf->socket.len >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "coldrl_socket path \"%V\" is too long",
                           &mcf->socket);
        return NGX_CONF_ERROR;
    }

    if (mcf->zone_size < 256 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "coldrl_zone_size must be at least 256k");
        return NGX_CONF_ERROR;
    }

    if (!mcf->enable && !mcf->status_used) {
        return NGX_CONF_OK;
    }

    mcf->zone = ngx_shared_memory_add(cf, &name, mcf->zone_size,
                                      &ngx_http_coldrl_module);
    if (mcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->zone->init = ngx_http_coldrl_init_zone;
    mcf->zone->data = mcf;

    return NGX_CONF_OK;
}


/* "500us", "2ms", "1s", or a plain number of microseconds */
static char *
ngx_http_coldrl_timeout(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_coldrl_main_conf_t *mcf = conf;

    size_t      len, unit;
    ngx_int_t   n;
    ngx_str_t  *value;

    if (mcf->timeout_us != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    len = value[1].len;
    unit = 1;

    if (len > 2 && ngx_strncmp(value[1].data + len - 2, "us", 2) == 0) {
        len -= 2;

    } else if (len > 2 && ngx_strncmp(value[1].data + len - 2, "ms", 2) == 0)
    {
        len -= 2;
        unit = 1000;

    } else if (len > 1 && value[1].data[len - 1] == 's') {
        len -= 1;
        unit = 1000000;
    }

    n = ngx_atoi(value[1].data, len);
    if (n == NGX_ERROR || n == 0 || (ngx_uint_t) n > 60000000 / unit) {
        return "is invalid (use e.g. 500us, 2ms, 1s)";
    }

    mcf->timeout_us = n * unit;

    return NGX_CONF_OK;
}


/* the cache manager runs at least every coldrl_interval: below 10ms (0: every 1 ms) it would spin */
static char *
ngx_http_coldrl_check_interval(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms < COLDRL_MIN_INTERVAL) {
        return "must be at least 10ms";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_coldrl_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_coldrl_main_conf_t  *mcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_coldrl_status_handler;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_coldrl_module);
    mcf->status_used = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_coldrl_var(ngx_conf_t *cf, char *name)
{
    ngx_str_t  s;

    s.data = (u_char *) name;
    s.len = ngx_strlen(name);

    return ngx_http_get_variable_index(cf, &s);
}


static ngx_int_t
ngx_http_coldrl_postconf(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_coldrl_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_coldrl_module);

    mcf->v_accept = ngx_http_coldrl_var(cf, "http_accept");
    mcf->v_arg_format = ngx_http_coldrl_var(cf, "arg_format");

    if (mcf->v_accept == NGX_ERROR || mcf->v_arg_format == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (mcf->enable != 1) {
        return NGX_OK;
    }

    mcf->v_up_len = ngx_http_coldrl_var(cf, "upstream_response_length");
    mcf->v_up_rt = ngx_http_coldrl_var(cf, "upstream_response_time");
    mcf->v_up_ht = ngx_http_coldrl_var(cf, "upstream_header_time");
    mcf->v_up_cc = ngx_http_coldrl_var(cf, "upstream_http_cache_control");
    mcf->v_up_expires = ngx_http_coldrl_var(cf, "upstream_http_expires");
    mcf->v_up_xae = ngx_http_coldrl_var(cf, "upstream_http_x_accel_expires");

    if (mcf->v_up_len == NGX_ERROR || mcf->v_up_rt == NGX_ERROR
        || mcf->v_up_ht == NGX_ERROR || mcf->v_up_cc == NGX_ERROR
        || mcf->v_up_expires == NGX_ERROR || mcf->v_up_xae == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_coldrl_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_coldrl_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_coldrl_shctx_t  *osh = data;

    size_t                    avail;
    uint32_t                  nslots;
    ngx_slab_pool_t          *shpool;
    ngx_http_coldrl_shctx_t  *sh;

    if (osh) {
        shm_zone->data = osh;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_coldrl_shctx_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    avail = shm_zone->shm.size / 10 * 8;

    for (nslots = 1; (size_t) nslots * 2
                     * (sizeof(ngx_http_coldrl_entry_t) + sizeof(uint32_t)
                        + 2 * sizeof(double))
                     <= avail;
         nslots *= 2)
    {
        /* void */
    }

    for ( /* void */ ; nslots >= 64; nslots /= 2) {
        sh->table = ngx_slab_calloc(shpool,
                                   nslots * sizeof(ngx_http_coldrl_entry_t));
        if (sh->table == NULL) {
            continue;
        }

        sh->dense = ngx_slab_calloc(shpool, nslots * sizeof(uint32_t));
        sh->weight = ngx_slab_calloc(shpool, nslots * sizeof(double));
        sh->tree = ngx_slab_calloc(shpool, (nslots + 1) * sizeof(double));

        if (sh->dense != NULL && sh->weight != NULL && sh->tree != NULL) {
            break;
        }

        if (sh->dense) {
            ngx_slab_free(shpool, sh->dense);
        }

        if (sh->weight) {
            ngx_slab_free(shpool, sh->weight);
        }

        if (sh->tree) {
            ngx_slab_free(shpool, sh->tree);
        }

        ngx_slab_free(shpool, sh->table);
        sh->table = NULL;
        sh->dense = NULL;
        sh->weight = NULL;
        sh->tree = NULL;
    }

    if (sh->table == NULL) {
        return NGX_ERROR;
    }

    sh->nslots = nslots;
    shpool->data = sh;
    shm_zone->data = sh;

    ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                  "coldrl: side table of %uD entries in zone \"%V\"",
                  nslots, &shm_zone->shm.name);

    return NGX_OK;
}


static ngx_int_t
ngx_http_coldrl_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_path_t                  **path;
    ngx_http_coldrl_main_conf_t  *mcf;

    for (i = 0; i < COLDRL_FEATURE_COUNT; i++) {
        ngx_http_coldrl_inv_log_cap[i] = 1.0 / log1p(ngx_http_coldrl_caps[i]);
    }

    ngx_http_coldrl_nwraps = 0;
    ngx_http_coldrl_mcf = NULL;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_coldrl_module);
    if (mcf == NULL || mcf->enable != 1) {
        return NGX_OK;
    }

    ngx_http_coldrl_mcf = mcf;
    ngx_http_coldrl_source = mcf->source;

    /*
     * file caches (proxy_cache_path & co.) are the paths with a manager (temp paths have none). Not
     * "and a loader": on a reload, ngx_http_file_cache_init clears the loader of a cache that is
     * already loaded, and such a cache must be wrapped all the same
     */

    path = cycle->paths.elts;
    for (i = 0; i < cycle->paths.nelts; i++) {

        if (path[i]->manager == NULL
            || path[i]->manager == ngx_http_coldrl_manager)
        {
            continue;
        }

        if (ngx_http_coldrl_nwraps == COLDRL_MAX_CACHES) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "coldrl: more than %d cache paths, \"%V\" uses LRU",
                          COLDRL_MAX_CACHES, &path[i]->name);
            continue;
        }

        ngx_http_coldrl_wraps[ngx_http_coldrl_nwraps].cache = path[i]->data;
        ngx_http_coldrl_wraps[ngx_http_coldrl_nwraps].orig = path[i]->manager;
        ngx_http_coldrl_nwraps++;

        path[i]->manager = ngx_http_coldrl_manager;
    }

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "coldrl: %ui cache path(s) evict through \"%V\", k:%ui "
                  "timeout:%uius candidates:%s shadow:%i",
                  ngx_http_coldrl_nwraps, &mcf->socket, mcf->k,
                  mcf->timeout_us, ngx_http_coldrl_source_names[mcf->source],
                  mcf->shadow);

    return NGX_OK;
}


/* ---- side table (callers hold the zone's slab mutex) ---- */

static ngx_http_coldrl_entry_t *
ngx_http_coldrl_side_find(ngx_http_coldrl_shctx_t *sh, u_char *key,
    ngx_uint_t create)
{
    uint32_t                  h, mask, i;
    ngx_http_coldrl_entry_t  *e, *victim;

    ngx_memcpy(&h, key, sizeof(uint32_t));
    mask = sh->nslots - 1;
    victim = NULL;

    for (i = 0; i < COLDRL_PROBES; i++) {
        e = &sh->table[(h + i) & mask];

        if (!e->used) {
            if (!create) {
                return NULL;
            }

            sh->nused++;
            victim = e;
            break;
        }

        if (ngx_memcmp(e->key, key, NGX_HTTP_CACHE_KEY_LEN) == 0) {
            return e;
        }

        /* the replacement candidate: non-resident first, then the oldest */
        if (victim == NULL
            || (victim->resident && !e->resident)
            || (victim->resident == e->resident && e->last < victim->last))
        {
            victim = e;
        }
    }

    if (!create) {
        return NULL;
    }

    if (victim->used && victim->resident) {
        ngx_http_coldrl_side_resident(sh, victim, 0);
    }

    ngx_memzero(victim, sizeof(ngx_http_coldrl_entry_t));
    ngx_memcpy(victim->key, key, NGX_HTTP_CACHE_KEY_LEN);
    victim->used = 1;
    victim->prev = -1;
    victim->expires = INFINITY;

    return victim;
}


static void
ngx_http_coldrl_side_resident(ngx_http_coldrl_shctx_t *sh,
    ngx_http_coldrl_entry_t *e, ngx_uint_t resident)
{
    uint32_t  slot, last;

    slot = (uint32_t) (e - sh->table);

    if (e->resident == resident) {
        if (resident) {
            /* a resident entry stored again may have a new size */
            ngx_http_coldrl_weight(sh, slot, e->size);
        }

        return;
    }

    if (resident) {
        sh->dense[sh->nresident] = slot;
        e->dense = sh->nresident++;
        e->resident = 1;
        ngx_http_coldrl_weight(sh, slot, e->size);
        return;
    }

    last = sh->dense[--sh->nresident];
    sh->dense[e->dense] = last;
    sh->table[last].dense = e->dense;
    e->resident = 0;
    ngx_http_coldrl_weight(sh, slot, 0);
}


/*
 * Sets a slot's weight (its resident size, or 0) in the Fenwick tree of resident sizes that `weighted`
 * and `blend` draw from (replay/fenwick.ts). O(log nslots); the side mutex is held.
 */
static void
ngx_http_coldrl_weight(ngx_http_coldrl_shctx_t *sh, uint32_t slot, double w)
{
    double    delta;
    uint32_t  j;

    delta = w - sh->weight[slot];

    if (delta == 0) {
        return;
    }

    sh->weight[slot] = w;
    sh->wtotal += delta;

    for (j = slot + 1; j <= sh->nslots; j += j & (0 - j)) {
        sh->tree[j] += delta;
    }
}


/* ---- log phase: fill the side table (mirrors replay/formats/nginx-source.ts) ---- */

static ngx_http_variable_value_t *
ngx_http_coldrl_value(ngx_http_request_t *r, ngx_int_t index)
{
    ngx_http_variable_value_t  *v;

    v = ngx_http_get_indexed_variable(r, index);
    if (v == NULL || v->not_found || v->len == 0
        || (v->len == 1 && v->data[0] == '-'))
    {
        return NULL;
    }

    return v;
}


/*
 * An upstream list ("0.010, 0.120 : 0.004", "-" entries skipped): the sum (sum = 1) or the last entry,
 * in ms when `seconds` (seconds with up to 3 decimals), else as integers; -1 when none.
 */
static double
ngx_http_coldrl_upstream_list(ngx_http_variable_value_t *v, ngx_uint_t sum,
    ngx_uint_t seconds)
{
    u_char      *p, *last, *a;
    double       total, x;
    ngx_int_t    ms, n, frac;
    ngx_uint_t   digits, dec;

    total = -1;
    p = v->data;
    last = v->data + v->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ',' || *p == ':')) {
            p++;
        }

        a = p;
        ms = 0;
        digits = 0;
        dec = 0;
        frac = -1;

        while (p < last && *p != ' ' && *p != ',' && *p != ':') {
            if (*p == '.' && frac < 0) {
                frac = 0;

            } else if (*p >= '0' && *p <= '9') {
                ms = ms * 10 + (*p - '0');
                digits++;
                if (frac >= 0) {
                    frac++;
                }

            } else {
                digits = 0;
                break;
            }

            p++;
        }

        while (p < last && *p != ' ' && *p != ',' && *p != ':') {
            p++;
        }

        if (p == a || digits == 0) {
            continue;
        }

        if (seconds) {
            n = frac < 0 ? 0 : frac;
            x = (double) ms;
            for (dec = (ngx_uint_t) n; dec < 3; dec++) {
                x *= 10;
            }
            for ( /* void */ ; dec > 3; dec--) {
                x /= 10;
            }

        } else {
            if (frac >= 0) {
                continue;
            }
            x = (double) ms;
        }

        total = (sum && total >= 0) ? total + x : x;
    }

    return total;
}


/*
 * The TTL X-Accel-Expires gives, from now (replay/formats/nginx-source.ts accelExpires; nginx's
 * ngx_http_upstream_process_accel_expires): "N" -> N seconds, "@T" -> T - now (at least 1 ms); -1 when nginx ignores it
 * (not a number, or "@0"). A "0" makes nginx not cache the response, so a stored one never has it.
 */
static double
ngx_http_coldrl_accel_expires(ngx_http_variable_value_t *v, double now)
{
    ngx_int_t  n;

    if (v->data[0] != '@') {
        n = ngx_atoi(v->data, v->len);
        return n == NGX_ERROR ? -1 : (double) n;
    }

    n = ngx_atoi(v->data + 1, v->len - 1);

    if (n == NGX_ERROR || n == 0) {
        return -1;
    }

    /* a past time: nginx stores the copy already stale (replay/'s STALE_TTL) */
    return (double) n > now ? (double) n - now : 0.001;
}


/* seconds of "s-maxage=N" (preferred) or "max-age=N" in Cache-Control, or -1 */
static double
ngx_http_coldrl_max_age(ngx_http_variable_value_t *v)
{
    u_char      *p, *last;
    ngx_int_t    n, s_maxage, max_age;
    ngx_uint_t   i;

    s_maxage = -1;
    max_age = -1;
    p = v->data;
    last = v->data + v->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ',')) {
            p++;
        }

        if ((size_t) (last - p) > 9
            && ngx_strncasecmp(p, (u_char *) "s-maxage=", 9) == 0)
        {
            p += 9;
            i = 1;

        } else if ((size_t) (last - p) > 8
                   && ngx_strncasecmp(p, (u_char *) "max-age=", 8) == 0)
        {
            p += 8;
            i = 2;

        } else {
            i = 0;
        }

        if (i) {
            n = 0;
            while (p < last && *p >= '0' && *p <= '9') {
                n = n * 10 + (*p++ - '0');
            }

            if (i == 1) {
                s_maxage = n;

            } else {
                max_age = n;
            }
        }

        while (p < last && *p != ',') {
            p++;
        }
    }

    return s_maxage >= 0 ? (double) s_maxage : (double) max_age;
}


static ngx_int_t
ngx_http_coldrl_log_handler(ngx_http_request_t *r)
{
    double                        now, ttl, x, size, rtt, exp;
    time_t                        t;
    uint32_t                      zone;
    ngx_uint_t                    status, fresh, stored, ignored;
    ngx_time_t                   *tp;
    ngx_slab_pool_t              *shpool;
    ngx_http_upstream_t          *u;
    ngx_http_coldrl_entry_t      *e;
    ngx_http_coldrl_shctx_t      *sh;
    ngx_http_variable_value_t    *v;
    ngx_http_coldrl_main_conf_t  *mcf;

    if (r->cache == NULL || r->cache->file_cache == NULL
        || r->upstream == NULL || r != r->main)
    {
        return NGX_OK;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_coldrl_module);
    if (mcf->zone == NULL || mcf->zone->data == NULL) {
        return NGX_OK;
    }

    sh = mcf->zone->data;
    shpool = (ngx_slab_pool_t *) mcf->zone->shm.addr;
    u = r->upstream;
    status = u->cache_status;
    zone = ngx_http_coldrl_zone_tag(r->cache->file_cache);

    /*
     * a copy stored from the upstream's answer: a MISS, an EXPIRED one refetched, or one REVALIDATED
     * (a 304 that renews it: replay/ reads that line as an expired copy refetched, with the 304's TTL).
     * STALE and UPDATING serve the old copy and count only as requests; neither do a background
     * update's subrequests, which the access log does not show replay/ either.
     */
    stored = status == NGX_HTTP_CACHE_MISS || status == NGX_HTTP_CACHE_EXPIRED
             || status == NGX_HTTP_CACHE_REVALIDATED;

    tp = ngx_timeofday();
    now = (double) ((uint64_t) tp->sec * 1000 + tp->msec) / 1000;

    /* what a store would record, computed before taking the lock */

    size = -1;
    rtt = -1;
    ttl = -1;

    if (stored && u->cacheable)
    {
        v = ngx_http_coldrl_value(r, mcf->v_up_len);
        if (v) {
            x = ngx_http_coldrl_upstream_list(v, 0, 0);
            if (x > 0) {
                size = x;
            }
        }

        v = ngx_http_coldrl_value(r, mcf->v_up_rt);
        if (v) {
            rtt = ngx_http_coldrl_upstream_list(v, 1, 1);
        }

        if (rtt < 0) {
            v = ngx_http_coldrl_value(r, mcf->v_up_ht);
            if (v) {
                rtt = ngx_http_coldrl_upstream_list(v, 1, 1);
            }
        }

        /* the headers nginx acted on: proxy_ignore_headers turns them off (replay/'s --ignore-headers) */
        ignored = u->conf->ignore_headers;

        v = (ignored & NGX_HTTP_UPSTREAM_IGN_XA_EXPIRES)
            ? NULL : ngx_http_coldrl_value(r, mcf->v_up_xae);
        if (v) {
            ttl = ngx_http_coldrl_accel_expires(v, now);
        }

        if (ttl < 0 && !(ignored & NGX_HTTP_UPSTREAM_IGN_CACHE_CONTROL)) {
            v = ngx_http_coldrl_value(r, mcf->v_up_cc);
            if (v) {
                ttl = ngx_http_coldrl_max_age(v);
            }
        }

        if (ttl < 0 && !(ignored & NGX_HTTP_UPSTREAM_IGN_EXPIRES)) {
            v = ngx_http_coldrl_value(r, mcf->v_up_expires);
            if (v) {
                t = ngx_parse_http_time(v->data, v->len);
                if (t != NGX_ERROR) {
                    ttl = (double) t - now;
                }
            }
        }
    }

    if (ttl >= 0) {
        exp = now + ttl;

    } else if (r->cache->valid_sec > 0) {
        exp = (double) r->cache->valid_sec;   /* proxy_cache_valid */

    } else {
        exp = INFINITY;
    }

    ngx_shmtx_lock(&shpool->mutex);

    e = ngx_http_coldrl_side_find(sh, r->cache->key, 1);
    fresh = (e->requests == 0);
    e->requests += 1;
    if (fresh) {
        e->first = now;
    }
    e->zone = zone;

    if (stored && u->cacheable)
    {
        e->created = now;
        e->last = now;
        e->prev = -1;
        e->hits = 0;
        e->expires = exp;

        if (size > 0) {
            e->size = size;

        } else if (e->size <= 0) {
            e->size = r->headers_out.content_length_n > 0
                      ? (double) r->headers_out.content_length_n
                      : (double) (r->connection->sent > 0
                                  ? r->connection->sent : 1);
        }

        if (rtt >= 0) {
            e->rtt = rtt;
        }

        ngx_http_coldrl_side_resident(sh, e, 1);
        (void) ngx_atomic_fetch_add(&sh->c.stored, 1);

    } else if (status == NGX_HTTP_CACHE_HIT) {

        if (fresh) {
            /* a copy the module never saw stored (loaded from disk at start) */
            e->created = now;
            e->last = now;
            e->size = r->headers_out.content_length_n > 0
                      ? (double) r->headers_out.content_length_n : 1;

        } else {
            e->prev = e->last;
            e->last = now;
            e->hits++;
        }

        ngx_http_coldrl_side_resident(sh, e, 1);
        (void) ngx_atomic_fetch_add(&sh->c.hits, 1);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    (void) ngx_atomic_fetch_add(&sh->c.tracked, 1);

    return NGX_OK;
}


/* ---- the cache manager wrapper ---- */

static ngx_msec_t
ngx_http_coldrl_manager(void *data)
{
    ngx_http_file_cache_t *cache = data;

    ngx_msec_t                    next, elapsed, start;
    ngx_uint_t                    i, batches;
    ngx_path_manager_pt           orig;
    ngx_http_coldrl_main_conf_t  *mcf;

    orig = NULL;

    for (i = 0; i < ngx_http_coldrl_nwraps; i++) {
        if (ngx_http_coldrl_wraps[i].cache == cache) {
            orig = ngx_http_coldrl_wraps[i].orig;
            break;
        }
    }

    if (orig == NULL) {
        /* cannot happen: the manager is only installed with its entry */
        return 10000;
    }

    mcf = ngx_http_coldrl_mcf;

    if (!ngx_http_coldrl_ka_armed && mcf->keepalive > 0) {
        ngx_http_coldrl_ka_armed = 1;
        ngx_http_coldrl_ka_ev.handler = ngx_http_coldrl_keepalive_handler;
        ngx_http_coldrl_ka_ev.data = &ngx_http_coldrl_ka_ev;
        ngx_http_coldrl_ka_ev.log = ngx_cycle->log;
        ngx_http_coldrl_ka_ev.cancelable = 1;
        ngx_add_timer(&ngx_http_coldrl_ka_ev, 1);
    }

    if (mcf->zone != NULL && mcf->zone->data != NULL) {
        ngx_time_update();
        start = ngx_current_msec;
        batches = 0;

        while (!ngx_quit && !ngx_terminate) {

            if (ngx_http_coldrl_evict_once(cache) != NGX_OK) {
                break;
            }

            if (++batches >= cache->manager_files) {
                break;
            }

            ngx_time_update();
            elapsed = ngx_abs((ngx_msec_int_t) (ngx_current_msec - start));

            if (elapsed >= cache->manager_threshold) {
                break;
            }
        }
    }

    next = orig(data);

    return next > mcf->interval ? mcf->interval : next;
}


static u_char *
ngx_http_coldrl_hex_keys(u_char *p, u_char *last, ngx_uint_t n,
    uint64_t mask)
{
    ngx_uint_t  i, first;

    first = 1;

    for (i = 0; i < n; i++) {
        if (!(mask & ((uint64_t) 1 << i))) {
            continue;
        }

        if (last - p < 2 * NGX_HTTP_CACHE_KEY_LEN + 2) {
            break;
        }

        if (!first) {
            *p++ = ',';
        }

        first = 0;
        p = ngx_hex_dump(p, ngx_http_coldrl_cands[i].key,
                         NGX_HTTP_CACHE_KEY_LEN);
    }

    if (first) {
        *p++ = '-';
    }

    return p;
}


/*
 * One decision: NGX_OK when the model's victims were deleted (the caller may decide again), else
 * NGX_DECLINED: the cache is within its limits, there are no candidates, or the decision was handed
 * to nginx: on every outcome but a model answer, and always in shadow mode (after the model's choice
 * is logged), the module deletes nothing and stops, and the stock manager that runs next (inactive
 * expiry, then forced_expire from the LRU tail until the cache is within its limits) evicts natively.
 *
 * Before deciding, the LRU tail is looked at (under the cache mutex, with the limits), and the run
 * left to the stock manager when
 *  - the tail is due for `inactive` expiry (expire <= now, count == 0): nginx's expiry, which the
 *    stock manager runs first, deletes it, and a decision now would evict on top of it;
 *  - the run is bound by the node count alone (the keys zone's watermark) and the tail is a
 *    placeholder (!exists: a key requested fewer than proxy_cache_min_uses times, which stores
 *    nothing): forced_expire frees those nodes, where the module's candidates are all stored objects.
 */
static ngx_int_t
ngx_http_coldrl_evict_once(ngx_http_file_cache_t *cache)
{
    off_t                         size, freed, f;
    double                        now;
    u_char                       *name, *p;
    uint64_t                      need, id, t0;
    ngx_int_t                     outcome;
    ngx_uint_t                    n, i, count, watermark, us, deleted, shadow,
                                  live, level, placeholder, expired;
    ngx_queue_t                  *q;
    ngx_time_t                   *tp;
    ngx_path_t                   *path;
    ngx_http_coldrl_cand_t       *c;
    ngx_http_coldrl_reply_t       rep;
    ngx_http_coldrl_shctx_t      *sh;
    ngx_http_file_cache_node_t   *fcn;
    ngx_http_coldrl_main_conf_t  *mcf;
    u_char                        victims[1024], model[1024];

    mcf = ngx_http_coldrl_mcf;
    sh = mcf->zone->data;
    placeholder = 0;
    expired = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    size = cache->sh->size;
    count = cache->sh->count;
    watermark = cache->sh->watermark;

    if (!ngx_queue_empty(&cache->sh->queue)) {
        q = ngx_queue_last(&cache->sh->queue);
        fcn = ngx_queue_data(q, ngx_http_file_cache_node_t, queue);
        placeholder = !fcn->exists;
        expired = (fcn->count == 0 && fcn->expire <= ngx_time());
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (size < cache->max_size && count < watermark) {
        return NGX_DECLINED;
    }

    need = size >= cache->max_size
           ? (uint64_t) (size - cache->max_size + 1) * cache->bsize : 1;

    if (expired) {
        (void) ngx_atomic_fetch_add(&sh->c.tail_expired, 1);
        return NGX_DECLINED;
    }

    if (need == 1 && placeholder) {
        (void) ngx_atomic_fetch_add(&sh->c.tail_placeholder, 1);
        return NGX_DECLINED;
    }

    /*
     * a decision bound by the node count alone (need 1: the keys zone's watermark) draws uniform
     * candidates when the configured source keeps the best by a key: freeing bytes gains nothing there
     * (replay/candidates.ts countBoundSource)
     */
    ngx_http_coldrl_source = (need == 1 && COLDRL_SRC_BIASED(mcf->source))
                             ? COLDRL_SRC_SAMPLE : mcf->source;

    /* one time for the candidates' selection (aged) and their features */
    ngx_time_update();
    tp = ngx_timeofday();
    now = (double) ((uint64_t) tp->sec * 1000 + tp->msec) / 1000;

    n = 0;
    us = 0;
    id = 0;
    ngx_memzero(&rep, sizeof(ngx_http_coldrl_reply_t));

    /* the breaker open or the sidecar unreachable: nothing to ask, no candidates to collect */
    outcome = ngx_http_coldrl_gate();

    if (outcome == COLDRL_ASK_MODEL) {
        t0 = ngx_http_coldrl_now_ns();
        n = ngx_http_coldrl_collect(cache, mcf->k, ngx_http_coldrl_source, now);
        (void) ngx_atomic_fetch_add(&sh->c.collect_ns,
                                    ngx_http_coldrl_now_ns() - t0);

        if (n == 0) {
            return NGX_DECLINED;
        }

        ngx_http_coldrl_features(cache, n, now);

        outcome = ngx_http_coldrl_ask(n, need, cache->bsize, &rep, &us);
        id = ngx_http_coldrl_seq;
    }

    ngx_http_coldrl_breaker(outcome);

    (void) ngx_atomic_fetch_add(&sh->c.decisions, 1);
    (void) ngx_atomic_fetch_add(&sh->c.candidates, n);

    (void) ngx_atomic_fetch_add((ngx_atomic_t *) ((u_char *) &sh->c
                                + ngx_http_coldrl_outcome_counter[outcome]), 1);

    if (outcome == COLDRL_ASK_MODEL || outcome == COLDRL_ASK_SIDECAR_FALLBACK)
    {
        (void) ngx_atomic_fetch_add(&sh->c.lat_count, 1);
        (void) ngx_atomic_fetch_add(&sh->c.lat_sum_us, us);

        for (i = 0; i < COLDRL_NBOUNDS; i++) {
            if (us <= ngx_http_coldrl_lat_bounds[i]) {
                break;
            }
        }

        (void) ngx_atomic_fetch_add(&sh->c.lat_bucket[i], 1);
    }

    shadow = mcf->shadow ? 1 : 0;
    live = (outcome == COLDRL_ASK_MODEL && !shadow);

    if (shadow) {
        (void) ngx_atomic_fetch_add(&sh->c.shadow_decisions, 1);
    }

    if (!live) {
        (void) ngx_atomic_fetch_add(&sh->c.handed_to_nginx, 1);
    }

    if (mcf->log_features) {
        for (i = 0; i < n; i++) {
            c = &ngx_http_coldrl_cands[i];
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "coldrl features %uL i:%ui now:%uL key:%*xs "
                          "blocks:%O f:%08xD,%08xD,%08xD,%08xD,%08xD,%08xD,"
                          "%08xD,%08xD",
                          id, i, (uint64_t) tp->sec * 1000 + tp->msec,
                          (size_t) NGX_HTTP_CACHE_KEY_LEN, c->key, c->fs_size,
                          *(uint32_t *) &c->f[0], *(uint32_t *) &c->f[1],
                          *(uint32_t *) &c->f[2], *(uint32_t *) &c->f[3],
                          *(uint32_t *) &c->f[4], *(uint32_t *) &c->f[5],
                          *(uint32_t *) &c->f[6], *(uint32_t *) &c->f[7]);
        }
    }

    /* delete the model's victims, each re-validated by key under the cache mutex */

    deleted = 0;
    freed = 0;

    if (live) {
        path = cache->path;
        name = ngx_alloc(path->name.len + 1 + path->len
                         + 2 * NGX_HTTP_CACHE_KEY_LEN + 1, ngx_cycle->log);
        if (name == NULL) {
            return NGX_DECLINED;
        }

        ngx_memcpy(name, path->name.data, path->name.len);

        for (i = 0; i < n; i++) {
            if (!(rep.victims & ((uint64_t) 1 << i))) {
                continue;
            }

            f = 0;

            if (ngx_http_coldrl_delete(cache, &ngx_http_coldrl_cands[i], name,
                                       &f))
            {
                deleted++;
                freed += f;

            } else {
                (void) ngx_atomic_fetch_add(&sh->c.revalidation_misses, 1);
            }
        }

        ngx_free(name);

        (void) ngx_atomic_fetch_add(&sh->c.model_evictions, deleted);
        (void) ngx_atomic_fetch_add(&sh->c.evicted_bytes,
                                    freed * cache->bsize);

        p = ngx_http_coldrl_hex_keys(victims, victims + sizeof(victims) - 1,
                                     n, rep.victims);

    } else {
        /* nginx's manager evicts from its LRU tail */
        p = ngx_cpymem(victims, "nginx", 5);
    }

    *p = '\0';

    if (outcome == COLDRL_ASK_MODEL || outcome == COLDRL_ASK_SIDECAR_FALLBACK)
    {
        p = ngx_http_coldrl_hex_keys(model, model + sizeof(model) - 1, n,
                                     rep.victims);
    } else {
        p = ngx_cpymem(model, "-", 1);
    }

    *p = '\0';

    level = shadow ? NGX_LOG_NOTICE : NGX_LOG_INFO;

    ngx_log_error(level, ngx_cycle->log, 0,
                  "coldrl decision %uL: %s outcome:%s reason:%ui server_us:%ui "
                  "candidates:%s n:%ui need:%uL us:%ui deleted:%ui evicted:%s "
                  "model:%s",
                  id, shadow ? "shadow" : "live",
                  ngx_http_coldrl_outcome_names[outcome],
                  rep.reason, rep.server_us,
                  ngx_http_coldrl_source_names[ngx_http_coldrl_source], n, need, us,
                  deleted, victims, model);

    /* a model decision whose victims were all requested meanwhile: decide again */
    return live ? NGX_OK : NGX_DECLINED;
}


/* ---- candidate sources (each takes the cache mutex once, for O(K) work) ---- */

static void
ngx_http_coldrl_snapshot(ngx_http_file_cache_t *cache,
    ngx_http_file_cache_node_t *fcn, ngx_http_coldrl_cand_t *c)
{
    ngx_memcpy(c->key, &fcn->node.key, sizeof(ngx_rbtree_key_t));
    ngx_memcpy(c->key + sizeof(ngx_rbtree_key_t), fcn->key,
               NGX_HTTP_CACHE_KEY_LEN - sizeof(ngx_rbtree_key_t));
    c->fs_size = fcn->fs_size;
    c->uniq = fcn->uniq;
    c->uses = fcn->uses;
    c->expire = fcn->expire;
    c->last = (double) (fcn->expire - cache->inactive);
}


static ngx_uint_t
ngx_http_coldrl_collect_tail(ngx_http_file_cache_t *cache, ngx_uint_t k,
    ngx_uint_t n)
{
    ngx_uint_t                   tries, j;
    ngx_queue_t                 *q;
    ngx_http_coldrl_cand_t      *c;
    ngx_http_file_cache_node_t  *fcn;

    tries = 4 * k + 20;

    ngx_shmtx_lock(&cache->shpool->mutex);

    for (q = ngx_queue_last(&cache->sh->queue);
         q != ngx_queue_sentinel(&cache->sh->queue) && n < k && tries;
         q = ngx_queue_prev(q), tries--)
    {
        fcn = ngx_queue_data(q, ngx_http_file_cache_node_t, queue);

        if (fcn->count || fcn->deleting || !fcn->exists) {
            continue;
        }

        c = &ngx_http_coldrl_cands[n];
        ngx_http_coldrl_snapshot(cache, fcn, c);

        for (j = 0; j < n; j++) {
            if (ngx_memcmp(ngx_http_coldrl_cands[j].key, c->key,
                           NGX_HTTP_CACHE_KEY_LEN) == 0)
            {
                break;
            }
        }

        if (j == n) {
            n++;
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return n;
}


/*
 * Draws up to d distinct resident entries uniformly from the dense index into ngx_http_coldrl_drawn
 * (slots), skipping the keys already in ngx_http_coldrl_cands[0..n) (mixed's tail half) and other
 * caches' entries without counting them. The side mutex is held, and every worker's log phase waits on
 * it: the walk stops after COLDRL_DRAW_STEPS x d entries, so a cache with few entries beside a large
 * one gets fewer than d rather than a walk of the whole index. Returns how many were drawn; with
 * nresident <= d (and no skips) every resident entry is drawn.
 *
 * The rule of replay/candidates.ts (partial Fisher-Yates over the pool of resident ids):
 *   for i = 0 .. : j = i + random() % (N - i); swap(dense[i], dense[j]); take dense[i]
 * Two differences, neither of which changes the distribution (every set of d distinct residents is
 * equally likely, in a uniformly random draw order): the swaps are not undone (each entry's `dense`
 * position is kept in step instead; step i picks uniformly among the N - i entries not yet taken
 * whatever order the index is in, so the index's order, shaped by past draws, insertions and removals,
 * does not matter), and ngx_random() % (N - i) has a modulo bias of at most N / 2^31 (nothing at the
 * sizes of a side table). The random stream is not the simulator's seeded xorshift32.
 */
static ngx_uint_t
ngx_http_coldrl_draw(ngx_http_coldrl_shctx_t *sh, ngx_uint_t d, ngx_uint_t n,
    uint32_t zone)
{
    uint32_t    i, j, slot, other, size;
    ngx_uint_t  m, t, steps;

    size = sh->nresident;
    steps = COLDRL_DRAW_STEPS * d;
    m = 0;

    for (i = 0; i < size && m < d && i < steps; i++) {
        j = i + (uint32_t) ngx_random() % (size - i);
        slot = sh->dense[j];
        other = sh->dense[i];

        sh->dense[i] = slot;
        sh->table[slot].dense = i;
        sh->dense[j] = other;
        sh->table[other].dense = j;

        for (t = 0; t < n; t++) {
            if (ngx_memcmp(ngx_http_coldrl_cands[t].key, sh->table[slot].key,
                           NGX_HTTP_CACHE_KEY_LEN) == 0)
            {
                break;
            }
        }

        if (t == n && sh->table[slot].zone == zone) {
            ngx_http_coldrl_drawn[m++] = slot;
        }
    }

    return m;
}


/*
 * Draws up to d more distinct resident entries into ngx_http_coldrl_drawn[from..], each with
 * probability proportional to its size (replay/candidates.ts drawBySize: every resident byte equally
 * likely), without replacement and never one of drawn[0..from) (blend's uniform half): a drawn slot's
 * weight leaves the tree until the draws end. The side mutex is held. Returns the new end. The same
 * distribution as replay/'s, not the same draws (the tree here is over slots, there over ids).
 */
static ngx_uint_t
ngx_http_coldrl_draw_by_size(ngx_http_coldrl_shctx_t *sh, ngx_uint_t d,
    ngx_uint_t from, uint32_t zone)
{
    double      u, w;
    uint32_t    pos, step, next, slot;
    ngx_uint_t  m, i, misses, end, nforeign;
    double     *taken;

    taken = ngx_http_coldrl_taken;

    for (i = 0; i < from; i++) {
        taken[i] = sh->weight[ngx_http_coldrl_drawn[i]];
        ngx_http_coldrl_weight(sh, ngx_http_coldrl_drawn[i], 0);
    }

    end = from + d;
    m = from;
    misses = 0;
    nforeign = 0;

    while (m < end && m < sh->nresident && sh->wtotal > 0 && misses < 64) {
        u = (double) ngx_random() / 2147483648.0 * sh->wtotal;
        pos = 0;

        for (step = sh->nslots; step > 0; step >>= 1) {
            next = pos + step;

            if (next <= sh->nslots && sh->tree[next] <= u) {
                pos = next;
                u -= sh->tree[next];
            }
        }

        slot = pos < sh->nslots ? pos : sh->nslots - 1;
        w = sh->weight[slot];

        if (!(w > 0)) {
            misses++;               /* float rounding at a range's edge */
            continue;
        }

        if (sh->table[slot].zone != zone) {
            /* another cache's: held out too, so it is not drawn again */
            if (nforeign == sizeof(ngx_http_coldrl_foreign)
                            / sizeof(ngx_http_coldrl_foreign[0]))
            {
                break;
            }

            ngx_http_coldrl_foreign[nforeign] = slot;
            ngx_http_coldrl_foreign_w[nforeign++] = w;
            ngx_http_coldrl_weight(sh, slot, 0);
            continue;
        }

        taken[m] = w;
        ngx_http_coldrl_weight(sh, slot, 0);
        ngx_http_coldrl_drawn[m++] = slot;
    }

    for (i = 0; i < m; i++) {
        ngx_http_coldrl_weight(sh, ngx_http_coldrl_drawn[i], taken[i]);
    }

    for (i = 0; i < nforeign; i++) {
        ngx_http_coldrl_weight(sh, ngx_http_coldrl_foreign[i],
                               ngx_http_coldrl_foreign_w[i]);
    }

    return m;
}


/*
 * The key a biased source keeps the lowest of (replay/candidates.ts largeSource, rareSource,
 * perbyteSource, weightedSource and blendSource, agedSource and agedblendSource, overdueSource): minus
 * the size, the lifetime requests, the lifetime requests per byte, or those divided by sqrt(1 + idle
 * seconds), or by sqrt(1 + idle / mean gap) (the mean gap between the lifetime requests, at least 1 s;
 * not aged with one request).
 */
static ngx_inline double
ngx_http_coldrl_per_byte(ngx_http_coldrl_entry_t *e)
{
    return e->requests / (e->size > 1 ? e->size : 1);
}


static ngx_inline double
ngx_http_coldrl_key(ngx_http_coldrl_entry_t *e, ngx_uint_t source, double now)
{
    double  idle, gap;

    switch (source) {

    case COLDRL_SRC_RARE:
        return e->requests;

    case COLDRL_SRC_PERBYTE:
    case COLDRL_SRC_WEIGHTED:
    case COLDRL_SRC_BLEND:
        return ngx_http_coldrl_per_byte(e);

    case COLDRL_SRC_AGED:
    case COLDRL_SRC_AGEDBLEND:
        idle = now - e->last;
        return e->requests / ((e->size > 1 ? e->size : 1)
                              * sqrt(1 + (idle > 0 ? idle : 0)));

    case COLDRL_SRC_OVERDUE:
        if (e->requests < 2) {
            return ngx_http_coldrl_per_byte(e);
        }
        gap = (e->last - e->first) / (e->requests - 1);
        idle = now - e->last;
        return ngx_http_coldrl_per_byte(e)
               / sqrt(1 + (idle > 0 ? idle : 0) / (gap > 1 ? gap : 1));

    default: /* COLDRL_SRC_LARGE */
        return -e->size;
    }
}


/*
 * Keeps in ngx_http_coldrl_drawn[0..want) the want drawn entries (of m) with the lowest key (ties: older
 * last access, then draw order), lowest first: replay/candidates.ts keepBest. Each key is computed once,
 * into ngx_http_coldrl_keys[] beside its entry; then insertion into a sorted prefix: O(m x want)
 * compares at most. The side mutex is held.
 */
static ngx_uint_t
ngx_http_coldrl_keep_best(ngx_http_coldrl_shctx_t *sh, ngx_uint_t m,
    ngx_uint_t want, ngx_uint_t source, double now)
{
    double     key, last, *keys;
    uint32_t   v, u, *drawn;
    ngx_uint_t i, kept, j;

    if (m <= want) {
        return m;
    }

    drawn = ngx_http_coldrl_drawn;
    keys = ngx_http_coldrl_keys;

    for (i = 0; i < m; i++) {
        keys[i] = ngx_http_coldrl_key(&sh->table[drawn[i]], source, now);
    }

    /* drawn[0..kept) is the sorted best so far; drawn[i] (i >= kept) is read before it can be overwritten */
    kept = 0;

    for (i = 0; i < m; i++) {
        v = drawn[i];
        key = keys[i];
        last = sh->table[v].last;

        if (kept == want) {
            u = drawn[want - 1];

            if (key > keys[want - 1]
                || (key == keys[want - 1] && last >= sh->table[u].last))
            {
                continue;
            }

            kept--;
        }

        for (j = kept; j > 0; j--) {
            u = drawn[j - 1];

            if (keys[j - 1] < key
                || (keys[j - 1] == key && sh->table[u].last <= last))
            {
                break;
            }

            drawn[j] = u;
            keys[j] = keys[j - 1];
        }

        drawn[j] = v;
        keys[j] = key;
        kept++;
    }

    return kept;
}


/*
 * Which cache an entry belongs to: the side table and its index are shared by every cache path, and a
 * cache draws only its own entries (a crc32 of the keys zone's name, the same in every process and
 * across reloads). A key stored in two caches belongs to the one that logged it last.
 */
static uint32_t
ngx_http_coldrl_zone_tag(ngx_http_file_cache_t *cache)
{
    return ngx_crc32_short(cache->shm_zone->shm.name.data,
                           cache->shm_zone->shm.name.len);
}


/*
 * Candidates from the module's resident index. sample: want = k - n uniform draws; large, rare,
 * perbyte, aged: want x OVERSAMPLE uniform draws, of which the want with the lowest key are kept;
 * weighted: as perbyte, the draws by size (O(log nslots) each); blend, agedblend, overdue: 2 x want uniform
 * draws, then 2 x want by size among the rest. All run under the side mutex only (O(1) per uniform
 * draw, plus O(4K x K) compares to keep); then one O(log n) rbtree lookup per kept entry
 * under the cache mutex. Entries no longer in the cache leave the index (there may then be fewer than
 * k candidates: evictions by the stock paths are only seen here).
 */
static ngx_uint_t
ngx_http_coldrl_collect_index(ngx_http_file_cache_t *cache, ngx_uint_t k,
    ngx_uint_t n, ngx_uint_t source, double now)
{
    uint32_t                     zone;
    ngx_uint_t                   want, picked, i, stale;
    ngx_slab_pool_t             *shpool;
    ngx_http_coldrl_cand_t      *c;
    ngx_http_coldrl_entry_t     *e;
    ngx_http_coldrl_shctx_t     *sh;
    ngx_http_file_cache_node_t  *fcn;
    u_char                       gone[COLDRL_MAX_K];

    sh = ngx_http_coldrl_mcf->zone->data;
    shpool = (ngx_slab_pool_t *) ngx_http_coldrl_mcf->zone->shm.addr;
    want = k - n;
    zone = ngx_http_coldrl_zone_tag(cache);

    ngx_shmtx_lock(&shpool->mutex);

    if (source == COLDRL_SRC_WEIGHTED) {
        picked = ngx_http_coldrl_draw_by_size(sh, COLDRL_OVERSAMPLE * want, 0,
                                              zone);
        picked = ngx_http_coldrl_keep_best(sh, picked, want, source, now);

    } else if (source == COLDRL_SRC_BLEND || source == COLDRL_SRC_AGEDBLEND
               || source == COLDRL_SRC_OVERDUE)
    {
        picked = ngx_http_coldrl_draw(sh, COLDRL_OVERSAMPLE / 2 * want, 0,
                                      zone);
        picked = ngx_http_coldrl_draw_by_size(sh, COLDRL_OVERSAMPLE / 2 * want,
                                              picked, zone);
        picked = ngx_http_coldrl_keep_best(sh, picked, want, source, now);

    } else if (COLDRL_SRC_BIASED(source)) {
        picked = ngx_http_coldrl_draw(sh, COLDRL_OVERSAMPLE * want, n, zone);
        picked = ngx_http_coldrl_keep_best(sh, picked, want, source, now);

    } else {
        picked = ngx_http_coldrl_draw(sh, want, n, zone);
    }

    for (i = 0; i < picked; i++) {
        ngx_memcpy(ngx_http_coldrl_picked[i],
                   sh->table[ngx_http_coldrl_drawn[i]].key,
                   NGX_HTTP_CACHE_KEY_LEN);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    stale = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    for (i = 0; i < picked; i++) {
        fcn = ngx_http_coldrl_lookup(cache, ngx_http_coldrl_picked[i]);
        gone[i] = (fcn == NULL);

        if (fcn == NULL) {
            stale++;
            continue;
        }

        if (fcn->count || fcn->deleting || !fcn->exists) {
            continue;
        }

        c = &ngx_http_coldrl_cands[n++];
        ngx_http_coldrl_snapshot(cache, fcn, c);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (stale) {
        ngx_shmtx_lock(&shpool->mutex);

        for (i = 0; i < picked; i++) {
            if (gone[i]) {
                e = ngx_http_coldrl_side_find(sh, ngx_http_coldrl_picked[i], 0);
                if (e) {
                    ngx_http_coldrl_side_resident(sh, e, 0);
                }
            }
        }

        ngx_shmtx_unlock(&shpool->mutex);
    }

    return n;
}


static ngx_uint_t
ngx_http_coldrl_collect(ngx_http_file_cache_t *cache, ngx_uint_t k,
    ngx_uint_t source, double now)
{
    ngx_uint_t  n;

    switch (source) {

    case COLDRL_SRC_SAMPLE:
        n = ngx_http_coldrl_collect_index(cache, k, 0, source, now);
        break;

    case COLDRL_SRC_MIXED:
        n = ngx_http_coldrl_collect_tail(cache, (k + 1) / 2, 0);
        n = ngx_http_coldrl_collect_index(cache, k, n, source, now);
        break;

    case COLDRL_SRC_LARGE:
    case COLDRL_SRC_RARE:
    case COLDRL_SRC_PERBYTE:
    case COLDRL_SRC_AGED:
    case COLDRL_SRC_WEIGHTED:
    case COLDRL_SRC_BLEND:
    case COLDRL_SRC_AGEDBLEND:
    case COLDRL_SRC_OVERDUE:
        n = ngx_http_coldrl_collect_index(cache, k, 0, source, now);
        break;

    default: /* COLDRL_SRC_TAIL */
        n = ngx_http_coldrl_collect_tail(cache, k, 0);
        break;
    }

    return n;
}


static float
ngx_http_coldrl_scale(ngx_uint_t i, double v)
{
    double  f;

    if (!(v > 0)) {
        return 0;    /* also NaN */
    }

    if (isinf(v)) {
        return 1;
    }

    f = log1p(v) * ngx_http_coldrl_inv_log_cap[i];

    return (float) (f < 1 ? f : 1);
}


/*
 * Features of replay/features.ts (spec 1) from the node snapshot plus the side table; candidates other
 * than the pure tail are then sorted oldest last access first (stable insertion sort, n <= 64).
 */
static void
ngx_http_coldrl_features(ngx_http_file_cache_t *cache, ngx_uint_t n,
    double now)
{
    double                        created, last, prev, hits, size, expires,
                                  rtt, requests;
    ngx_uint_t                    i, j;
    ngx_slab_pool_t              *shpool;
    ngx_http_coldrl_cand_t       *c, tmp;
    ngx_http_coldrl_entry_t      *e;
    ngx_http_coldrl_shctx_t      *sh;

    sh = ngx_http_coldrl_mcf->zone->data;
    shpool = (ngx_slab_pool_t *) ngx_http_coldrl_mcf->zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < n; i++) {
        c = &ngx_http_coldrl_cands[i];
        e = ngx_http_coldrl_side_find(sh, c->key, 0);

        if (e && e->created > 0) {
            created = e->created;
            last = e->last;
            prev = e->prev;
            hits = e->hits;
            size = e->size;
            expires = e->expires;
            rtt = e->rtt;
            requests = e->requests;

        } else {
            /* unknown to the module (loaded from disk): what the node tells */
            created = c->last;
            last = c->last;
            prev = -1;
            hits = c->uses > 0 ? c->uses - 1 : 0;
            size = (double) c->fs_size * cache->bsize;
            expires = INFINITY;
            rtt = 0;
            requests = c->uses;
        }

        c->last = last;
        c->f[0] = ngx_http_coldrl_scale(0, now - created);
        c->f[1] = ngx_http_coldrl_scale(1, size);
        c->f[2] = ngx_http_coldrl_scale(2, hits);
        c->f[3] = ngx_http_coldrl_scale(3, prev >= 0 ? last - prev : now - last);
        c->f[4] = ngx_http_coldrl_scale(4, expires - now);
        c->f[5] = ngx_http_coldrl_scale(5, rtt);
        c->f[6] = ngx_http_coldrl_scale(6, now - last);
        c->f[7] = ngx_http_coldrl_scale(7, requests);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (ngx_http_coldrl_source == COLDRL_SRC_TAIL) {
        return;    /* the queue order is the exact LRU order */
    }

    for (i = 1; i < n; i++) {
        tmp = ngx_http_coldrl_cands[i];
        j = i;

        while (j > 0 && ngx_http_coldrl_cands[j - 1].last > tmp.last) {
            ngx_http_coldrl_cands[j] = ngx_http_coldrl_cands[j - 1];
            j--;
        }

        ngx_http_coldrl_cands[j] = tmp;
    }
}


/* ---- deletion: the semantics of the stock (static) lookup and delete ---- */

static ngx_http_file_cache_node_t *
ngx_http_coldrl_lookup(ngx_http_file_cache_t *cache, u_char *key)
{
    ngx_int_t                    rc;
    ngx_rbtree_key_t             node_key;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_file_cache_node_t  *fcn;

    ngx_memcpy((u_char *) &node_key, key, sizeof(ngx_rbtree_key_t));

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (node_key != node->key) {
            node = (node_key < node->key) ? node->left : node->right;
            continue;
        }

        fcn = (ngx_http_file_cache_node_t *) node;

        rc = ngx_memcmp(&key[sizeof(ngx_rbtree_key_t)], fcn->key,
                        NGX_HTTP_CACHE_KEY_LEN - sizeof(ngx_rbtree_key_t));

        if (rc == 0) {
            return fcn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * returns 1 when the entry was deleted; *freed = blocks freed. The victim must still be the copy the
 * decision saw: the same stored file (uniq) and not requested since (uses counts every lookup; expire
 * moves on each request too, but only to the second), else it is left alone and counted as a
 * revalidation miss.
 */
static ngx_uint_t
ngx_http_coldrl_delete(ngx_http_file_cache_t *cache,
    ngx_http_coldrl_cand_t *cand, u_char *name, off_t *freed)
{
    u_char                      *key = cand->key;
    u_char                      *p;
    size_t                       len;
    ngx_path_t                  *path;
    ngx_slab_pool_t             *shpool;
    ngx_http_coldrl_entry_t     *e;
    ngx_http_file_cache_node_t  *fcn;

    path = cache->path;

    ngx_shmtx_lock(&cache->shpool->mutex);

    fcn = ngx_http_coldrl_lookup(cache, key);

    if (fcn == NULL || fcn->count || fcn->deleting || !fcn->exists
        || fcn->uniq != cand->uniq || fcn->uses != cand->uses
        || fcn->expire != cand->expire)
    {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return 0;
    }

    cache->sh->size -= fcn->fs_size;
    *freed = fcn->fs_size;

    p = name + path->name.len + 1 + path->len;
    p = ngx_hex_dump(p, key, NGX_HTTP_CACHE_KEY_LEN);
    *p = '\0';

    fcn->count++;
    fcn->deleting = 1;

    ngx_shmtx_unlock(&cache->shpool->mutex);

    len = path->name.len + 1 + path->len + 2 * NGX_HTTP_CACHE_KEY_LEN;
    ngx_create_hashed_filename(path, name, len);

    if (ngx_delete_file(name) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, ngx_cycle->log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed", name);
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    fcn->count--;
    fcn->deleting = 0;

    if (fcn->count == 0) {
        ngx_queue_remove(&fcn->queue);
        ngx_rbtree_delete(&cache->sh->rbtree, &fcn->node);
        ngx_slab_free_locked(cache->shpool, fcn);
        cache->sh->count--;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    shpool = (ngx_slab_pool_t *) ngx_http_coldrl_mcf->zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    e = ngx_http_coldrl_side_find(ngx_http_coldrl_mcf->zone->data, key, 0);
    if (e) {
        ngx_http_coldrl_side_resident(ngx_http_coldrl_mcf->zone->data, e, 0);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return 1;
}


/* ---- the sidecar: framed protobuf over a Unix stream socket (proto/README.md) ---- */

static uint64_t
ngx_http_coldrl_now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static uint64_t
ngx_http_coldrl_now_us(void)
{
    return ngx_http_coldrl_now_ns() / 1000;
}


/* the next connect() waits: 100 ms, doubling to 5 s */
static void
ngx_http_coldrl_back_off(void)
{
    ngx_http_coldrl_backoff = ngx_http_coldrl_backoff
                              ? ngx_min(ngx_http_coldrl_backoff * 2, 5000)
                              : 100;
    ngx_http_coldrl_retry_at = ngx_current_msec + ngx_http_coldrl_backoff;
}


/*
 * Closes the connection. A protocol error, or a connection that lived less than COLDRL_CONN_MIN_LIFE
 * (a peer that accepts and closes, or answers with an error and closes), makes the next connect()
 * back off; a connection closed after a longer life may be made again at once (a sidecar restarting).
 */
static void
ngx_http_coldrl_close(const char *why, ngx_uint_t protocol)
{
    ngx_msec_int_t            lived;
    ngx_http_coldrl_shctx_t  *sh;

    if (ngx_http_coldrl_fd == -1) {
        return;
    }

    ngx_time_update();
    lived = (ngx_msec_int_t) (ngx_current_msec - ngx_http_coldrl_connected_at);

    if (protocol || lived < COLDRL_CONN_MIN_LIFE) {
        ngx_http_coldrl_back_off();

    } else {
        ngx_http_coldrl_backoff = 0;
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "coldrl: sidecar connection closed after %M ms: %s%s",
                  (ngx_msec_t) (lived > 0 ? lived : 0), why,
                  ngx_http_coldrl_backoff ? ", reconnecting with backoff" : "");

    close(ngx_http_coldrl_fd);
    ngx_http_coldrl_fd = -1;
    ngx_http_coldrl_rx_len = 0;

    sh = ngx_http_coldrl_mcf->zone->data;
    sh->c.connected = 0;
}


/*
 * Whether a decision may ask the sidecar: COLDRL_ASK_MODEL when it may (connected), else the outcome
 * of the decision: COLDRL_ASK_BREAKER while the breaker is open, COLDRL_ASK_CONNECT when the sidecar
 * cannot be reached (or the reconnect backoff is running).
 */
static ngx_int_t
ngx_http_coldrl_gate(void)
{
    ngx_http_coldrl_shctx_t  *sh;

    if (ngx_http_coldrl_open_ms) {
        ngx_time_update();

        if ((ngx_msec_int_t) (ngx_current_msec - ngx_http_coldrl_open_until)
            < 0)
        {
            return COLDRL_ASK_BREAKER;
        }

        /* half open: this decision asks; one more failure opens it again */
        sh = ngx_http_coldrl_mcf->zone->data;
        sh->c.breaker_open = 0;
    }

    return ngx_http_coldrl_connect() == NGX_OK ? COLDRL_ASK_MODEL
                                               : COLDRL_ASK_CONNECT;
}


/* the breaker follows each decision's outcome */
static void
ngx_http_coldrl_breaker(ngx_int_t outcome)
{
    ngx_msec_t                first, cap;
    ngx_http_coldrl_shctx_t  *sh;

    sh = ngx_http_coldrl_mcf->zone->data;

    switch (outcome) {

    case COLDRL_ASK_MODEL:
        ngx_http_coldrl_streak = 0;
        ngx_http_coldrl_open_ms = 0;
        ngx_http_coldrl_backoff = 0;
        sh->c.breaker_open = 0;
        return;

    case COLDRL_ASK_SIDECAR_FALLBACK:
        ngx_http_coldrl_streak = 0;   /* it answers in time */
        return;

    case COLDRL_ASK_TIMEOUT:
    case COLDRL_ASK_BAD_REPLY:
        break;

    default:  /* CONNECT: the reconnect backoff; BREAKER: already open */
        return;
    }

    if (++ngx_http_coldrl_streak < COLDRL_BREAKER_STREAK) {
        return;
    }

    first = ngx_max(COLDRL_BREAKER_MIN,
                    ngx_http_coldrl_mcf->timeout_us / 100);
    cap = ngx_max(COLDRL_BREAKER_MAX, first);

    ngx_http_coldrl_open_ms = ngx_http_coldrl_open_ms
                              ? ngx_min(ngx_http_coldrl_open_ms * 2, cap)
                              : first;

    ngx_time_update();
    ngx_http_coldrl_open_until = ngx_current_msec + ngx_http_coldrl_open_ms;
    ngx_http_coldrl_streak = COLDRL_BREAKER_STREAK - 1;

    sh->c.breaker_open = 1;
    (void) ngx_atomic_fetch_add(&sh->c.breaker_opens, 1);

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "coldrl: %ui decisions in a row timed out or got a bad reply, "
                  "the sidecar is skipped for %M ms (nginx evicts)",
                  (ngx_uint_t) COLDRL_BREAKER_STREAK, ngx_http_coldrl_open_ms);
}


static ngx_int_t
ngx_http_coldrl_connect(void)
{
    int                       fd;
    ngx_err_t                 err;
    struct sockaddr_un        sun;
    ngx_http_coldrl_shctx_t  *sh;

    if (ngx_http_coldrl_fd != -1) {
        return NGX_OK;
    }

    ngx_time_update();

    if (ngx_http_coldrl_backoff
        && (ngx_msec_int_t) (ngx_current_msec - ngx_http_coldrl_retry_at) < 0)
    {
        return NGX_ERROR;
    }

    sh = ngx_http_coldrl_mcf->zone->data;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return NGX_ERROR;
    }

    ngx_memzero(&sun, sizeof(struct sockaddr_un));
    sun.sun_family = AF_UNIX;
    ngx_memcpy(sun.sun_path, ngx_http_coldrl_mcf->socket.data,
               ngx_http_coldrl_mcf->socket.len);

    if (connect(fd, (struct sockaddr *) &sun, sizeof(struct sockaddr_un))
        == -1)
    {
        err = ngx_errno;
        close(fd);

        if (ngx_http_coldrl_backoff == 0) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, err,
                          "coldrl: connect() to sidecar \"%V\" failed, "
                          "nginx evicts (LRU) until it answers",
                          &ngx_http_coldrl_mcf->socket);
        }

        ngx_http_coldrl_back_off();
        (void) ngx_atomic_fetch_add(&sh->c.connect_failures, 1);

        return NGX_ERROR;
    }

    /* the backoff stays until a model answer, or the connection outlives COLDRL_CONN_MIN_LIFE */
    ngx_http_coldrl_fd = fd;
    ngx_http_coldrl_connected_at = ngx_current_msec;
    ngx_http_coldrl_rx_len = 0;
    sh->c.connected = 1;
    (void) ngx_atomic_fetch_add(&sh->c.connects, 1);

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "coldrl: connected to sidecar \"%V\"",
                  &ngx_http_coldrl_mcf->socket);

    return NGX_OK;
}


static u_char *
ngx_http_coldrl_varint(u_char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (u_char) (v | 0x80);
        v >>= 7;
    }

    *p++ = (u_char) v;

    return p;
}


/* one frame: uint32 big-endian length, then a DecideRequest */
static size_t
ngx_http_coldrl_encode(u_char *buf, uint64_t id, ngx_uint_t n, uint64_t need,
    ngx_uint_t budget_us, size_t bsize)
{
    u_char                  *p, *m, cand[64];
    size_t                   len;
    uint64_t                 blocks;
    ngx_uint_t               i;
    ngx_http_coldrl_cand_t  *c;

    p = buf + 4;

    *p++ = 0x08;                                  /* 1: request_id */
    p = ngx_http_coldrl_varint(p, id);

    for (i = 0; i < n; i++) {
        c = &ngx_http_coldrl_cands[i];
        m = cand;

        *m++ = 0x09;                              /* 1: key_hash, fixed64 */
        m = ngx_cpymem(m, c->key, 8);             /* first 8 bytes, LE */

        blocks = (uint64_t) c->fs_size;
        *m++ = 0x10;                              /* 2: size (bytes on disk) */
        m = ngx_http_coldrl_varint(m, blocks * bsize);

        *m++ = 0x1a;                              /* 3: features, packed */
        *m++ = COLDRL_FEATURE_COUNT * sizeof(float);
        m = ngx_cpymem(m, c->f, COLDRL_FEATURE_COUNT * sizeof(float));

        *p++ = 0x12;                              /* 2: candidates */
        p = ngx_http_coldrl_varint(p, m - cand);
        p = ngx_cpymem(p, cand, m - cand);
    }

    *p++ = 0x18;                                  /* 3: bytes_needed */
    p = ngx_http_coldrl_varint(p, need);
    *p++ = 0x20;                                  /* 4: budget_us */
    p = ngx_http_coldrl_varint(p, budget_us);
    *p++ = 0x28;                                  /* 5: feature_spec_version */
    p = ngx_http_coldrl_varint(p, COLDRL_FEATURE_SPEC_VERSION);
    *p++ = 0x30;                                  /* 6: candidate_source */
    *p++ = (u_char) COLDRL_WIRE_SOURCE(ngx_http_coldrl_source);

    len = p - buf - 4;
    buf[0] = (u_char) (len >> 24);
    buf[1] = (u_char) (len >> 16);
    buf[2] = (u_char) (len >> 8);
    buf[3] = (u_char) len;

    return len + 4;
}


static ngx_int_t
ngx_http_coldrl_get_varint(u_char **pp, u_char *last, uint64_t *v)
{
    u_char      *p;
    ngx_uint_t   shift;

    p = *pp;
    *v = 0;

    for (shift = 0; p < last && shift < 64; shift += 7) {
        *v |= (uint64_t) (*p & 0x7f) << shift;

        if (!(*p++ & 0x80)) {
            *pp = p;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_coldrl_parse_reply(u_char *p, u_char *last,
    ngx_http_coldrl_reply_t *rep)
{
    uint64_t  tag, v, len;

    ngx_memzero(rep, sizeof(ngx_http_coldrl_reply_t));

    while (p < last) {

        /* a varint tag, then a value by wire type */
        if (ngx_http_coldrl_get_varint(&p, last, &tag) != NGX_OK) {
            return NGX_ERROR;
        }

        switch (tag & 7) {

        case 0:
            if (ngx_http_coldrl_get_varint(&p, last, &v) != NGX_OK) {
                return NGX_ERROR;
            }

            switch (tag >> 3) {
            case 1: rep->request_id = v; break;
            case 3: rep->source = (ngx_uint_t) v; break;
            case 4: rep->reason = (ngx_uint_t) v; break;
            case 6: rep->server_us = (ngx_uint_t) v; break;
            default: break;
            }

            break;

        case 1:
            if (last - p < 8) {
                return NGX_ERROR;
            }

            ngx_memcpy(&v, p, 8);
            p += 8;

            if ((tag >> 3) == 2) {
                rep->victims = v;
            }

            break;

        case 2:
            if (ngx_http_coldrl_get_varint(&p, last, &len) != NGX_OK) {
                return NGX_ERROR;
            }

            if (len > (uint64_t) (last - p)) {
                return NGX_ERROR;
            }

            if ((tag >> 3) == 7 && len > 0) {
                rep->has_error = 1;
            }

            p += len;
            break;

        case 5:
            if (last - p < 4) {
                return NGX_ERROR;
            }

            p += 4;
            break;

        default:
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Reads what the socket holds and consumes complete frames; a frame for `want` fills rep and
 * returns NGX_OK, others (pings, late answers) are dropped. NGX_AGAIN: not yet; NGX_ERROR: closed
 * or garbage (the connection is closed).
 */
static ngx_int_t
ngx_http_coldrl_read_frames(uint64_t want, ngx_http_coldrl_reply_t *rep)
{
    u_char                   *p;
    size_t                    len;
    ssize_t                   n;
    ngx_int_t                 found;
    ngx_http_coldrl_reply_t   r;

    found = NGX_AGAIN;

    for ( ;; ) {
        n = recv(ngx_http_coldrl_fd, ngx_http_coldrl_rx + ngx_http_coldrl_rx_len,
                 sizeof(ngx_http_coldrl_rx) - ngx_http_coldrl_rx_len,
                 MSG_DONTWAIT);

        if (n == 0) {
            ngx_http_coldrl_close("closed by the sidecar", 0);
            return NGX_ERROR;
        }

        if (n == -1) {
            if (ngx_errno == NGX_EAGAIN || ngx_errno == NGX_EINTR) {
                break;
            }

            ngx_http_coldrl_close("recv() failed", 0);
            return NGX_ERROR;
        }

        ngx_http_coldrl_rx_len += n;

        p = ngx_http_coldrl_rx;

        while (ngx_http_coldrl_rx + ngx_http_coldrl_rx_len - p >= 4) {
            len = ((size_t) p[0] << 24) | ((size_t) p[1] << 16)
                  | ((size_t) p[2] << 8) | p[3];

            if (len == 0 || len > sizeof(ngx_http_coldrl_rx) - 4) {
                ngx_http_coldrl_close("frame too long", 1);
                return NGX_ERROR;
            }

            if ((size_t) (ngx_http_coldrl_rx + ngx_http_coldrl_rx_len - p)
                < len + 4)
            {
                break;
            }

            if (ngx_http_coldrl_parse_reply(p + 4, p + 4 + len, &r)
                != NGX_OK)
            {
                ngx_http_coldrl_close("reply does not parse", 1);
                return NGX_ERROR;
            }

            p += 4 + len;

            if (want && r.request_id == want) {
                *rep = r;
                found = NGX_OK;
            }

            if (r.has_error) {
                ngx_http_coldrl_close("the sidecar reported a protocol error",
                                  1);
                return found == NGX_OK ? NGX_OK : NGX_ERROR;
            }
        }

        ngx_http_coldrl_rx_len -= p - ngx_http_coldrl_rx;
        ngx_memmove(ngx_http_coldrl_rx, p, ngx_http_coldrl_rx_len);

        if (found == NGX_OK) {
            return NGX_OK;
        }
    }

    return found;
}


static ngx_int_t
ngx_http_coldrl_ask(ngx_uint_t n, uint64_t need, size_t bsize,
    ngx_http_coldrl_reply_t *rep, ngx_uint_t *us)
{
    int              rc;
    size_t           len;
    ssize_t          sent;
    uint64_t         t0, deadline, now, id, all;
    ngx_int_t        r;
    struct pollfd    pfd;
    struct timespec  ts;

    *us = 0;
    ngx_memzero(rep, sizeof(ngx_http_coldrl_reply_t));
    id = ++ngx_http_coldrl_seq;

    if (ngx_http_coldrl_connect() != NGX_OK) {
        return COLDRL_ASK_CONNECT;
    }

    /* drop what came in since the last call (pings, late answers) */
    if (ngx_http_coldrl_read_frames(0, rep) == NGX_ERROR) {
        if (ngx_http_coldrl_connect() != NGX_OK) {
            return COLDRL_ASK_CONNECT;
        }
    }

    len = ngx_http_coldrl_encode(ngx_http_coldrl_tx, id, n, need,
                                 ngx_http_coldrl_mcf->timeout_us * 3 / 4,
                                 bsize);

    t0 = ngx_http_coldrl_now_us();
    deadline = t0 + ngx_http_coldrl_mcf->timeout_us;

    sent = send(ngx_http_coldrl_fd, ngx_http_coldrl_tx, len,
                MSG_DONTWAIT | MSG_NOSIGNAL);

    if (sent != (ssize_t) len) {
        ngx_http_coldrl_close(sent == -1 ? "send() failed" : "short send()",
                              0);
        return COLDRL_ASK_CONNECT;
    }

    pfd.fd = ngx_http_coldrl_fd;
    pfd.events = POLLIN;

    for ( ;; ) {
        now = ngx_http_coldrl_now_us();
        if (now >= deadline) {
            *us = (ngx_uint_t) (now - t0);
            return COLDRL_ASK_TIMEOUT;
        }

        /* coldrl_timeout reaches 60 s: tv_nsec must stay below 1e9 */
        ts.tv_sec = (time_t) ((deadline - now) / 1000000);
        ts.tv_nsec = (long) ((deadline - now) % 1000000) * 1000;

        rc = ppoll(&pfd, 1, &ts, NULL);

        if (rc == -1 && ngx_errno != NGX_EINTR) {
            ngx_http_coldrl_close("ppoll() failed", 0);
            return COLDRL_ASK_CONNECT;
        }

        if (rc <= 0) {
            continue;
        }

        r = ngx_http_coldrl_read_frames(id, rep);

        if (r == NGX_OK) {
            break;
        }

        if (r == NGX_ERROR) {
            *us = (ngx_uint_t) (ngx_http_coldrl_now_us() - t0);
            return COLDRL_ASK_BAD_REPLY;
        }
    }

    *us = (ngx_uint_t) (ngx_http_coldrl_now_us() - t0);

    all = (n == 64) ? ~(uint64_t) 0 : (((uint64_t) 1 << n) - 1);

    if (rep->has_error || rep->victims == 0 || (rep->victims & ~all)
        || (rep->source != 1 && rep->source != 2))
    {
        ngx_http_coldrl_close("a reply with no victims among the candidates "
                              "or an unknown source", 1);
        return COLDRL_ASK_BAD_REPLY;
    }

    return rep->source == 1 ? COLDRL_ASK_MODEL : COLDRL_ASK_SIDECAR_FALLBACK;
}


/*
 * Keeps the sidecar warm: a cheap one-candidate DecideRequest every coldrl_keepalive (its answer is
 * dropped by the next read), and reconnects with backoff when the sidecar went away.
 */
static void
ngx_http_coldrl_keepalive_handler(ngx_event_t *ev)
{
    size_t                    len;
    ngx_http_coldrl_reply_t   rep;
    ngx_http_coldrl_shctx_t  *sh;

    if (ngx_quit || ngx_terminate || ngx_exiting) {
        return;
    }

    sh = ngx_http_coldrl_mcf->zone->data;

    if (ngx_http_coldrl_fd != -1) {
        (void) ngx_http_coldrl_read_frames(0, &rep);
    }

    if (ngx_http_coldrl_connect() == NGX_OK) {
        ngx_memzero(&ngx_http_coldrl_cands[0], sizeof(ngx_http_coldrl_cand_t));
        ngx_http_coldrl_cands[0].fs_size = 1;

        len = ngx_http_coldrl_encode(ngx_http_coldrl_tx,
                                     COLDRL_PING_FLAG | ++ngx_http_coldrl_seq,
                                     1, 1,
                                     ngx_http_coldrl_mcf->timeout_us * 3 / 4,
                                     1);

        if (send(ngx_http_coldrl_fd, ngx_http_coldrl_tx, len,
                 MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t) len)
        {
            ngx_http_coldrl_close("send() of a ping failed", 0);

        } else {
            (void) ngx_atomic_fetch_add(&sh->c.pings, 1);
        }
    }

    ngx_add_timer(ev, ngx_http_coldrl_mcf->keepalive);
}


/* ---- the status handler: JSON, or Prometheus text ---- */

static ngx_int_t
ngx_http_coldrl_status_handler(ngx_http_request_t *r)
{
    size_t                        size;
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_uint_t                    i, prom;
    ngx_chain_t                   out;
    ngx_atomic_uint_t             cum;
    ngx_http_coldrl_counters_t   *c, zero;
    ngx_http_coldrl_shctx_t      *sh;
    ngx_http_variable_value_t    *v;
    ngx_http_coldrl_main_conf_t  *mcf;
    uint32_t                      nslots, nused, nres;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_coldrl_module);

    prom = 0;

    v = ngx_http_get_indexed_variable(r, mcf->v_arg_format);
    if (v && !v->not_found && v->len == 10
        && ngx_strncmp(v->data, "prometheus", 10) == 0)
    {
        prom = 1;
    }

    v = ngx_http_get_indexed_variable(r, mcf->v_accept);
    if (v && !v->not_found
        && (ngx_strlcasestrn(v->data, v->data + v->len,
                             (u_char *) "openmetrics", 11 - 1) != NULL
            || ngx_strlcasestrn(v->data, v->data + v->len,
                                (u_char *) "version=0.0.4", 13 - 1) != NULL))
    {
        prom = 1;
    }

    ngx_memzero(&zero, sizeof(ngx_http_coldrl_counters_t));
    c = &zero;
    nslots = 0;
    nused = 0;
    nres = 0;

    if (mcf->zone && mcf->zone->data) {
        sh = mcf->zone->data;
        c = &sh->c;
        nslots = sh->nslots;
        nused = sh->nused;
        nres = sh->nresident;
    }

    size = 8192;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (prom) {
        b->last = ngx_slprintf(b->last, b->end,
            "# HELP coldrl_decisions_total Eviction decisions made by the module.\n"
            "# TYPE coldrl_decisions_total counter\n"
            "coldrl_decisions_total %uA\n"
            "# HELP coldrl_model_decisions_total Decisions the model answered in time.\n"
            "# TYPE coldrl_model_decisions_total counter\n"
            "coldrl_model_decisions_total %uA\n"
            "# TYPE coldrl_shadow_decisions_total counter\n"
            "coldrl_shadow_decisions_total %uA\n"
            "# HELP coldrl_evictions_total Objects deleted by the module (the model's victims).\n"
            "# TYPE coldrl_evictions_total counter\n"
            "coldrl_evictions_total{by=\"model\"} %uA\n"
            "# HELP coldrl_handed_to_nginx_total Decisions left to nginx's own manager (fallbacks, shadow).\n"
            "# TYPE coldrl_handed_to_nginx_total counter\n"
            "coldrl_handed_to_nginx_total %uA\n"
            "# HELP coldrl_tail_handoffs_total Runs left to nginx's manager before deciding, by its LRU tail.\n"
            "# TYPE coldrl_tail_handoffs_total counter\n"
            "coldrl_tail_handoffs_total{tail=\"placeholder\"} %uA\n"
            "coldrl_tail_handoffs_total{tail=\"expired\"} %uA\n"
            "# TYPE coldrl_evicted_bytes_total counter\n"
            "coldrl_evicted_bytes_total %uA\n"
            "# TYPE coldrl_candidates_total counter\n"
            "coldrl_candidates_total %uA\n"
            "# HELP coldrl_collect_seconds_total Time spent collecting candidates.\n"
            "# TYPE coldrl_collect_seconds_total counter\n"
            "coldrl_collect_seconds_total %.9f\n"
            "# TYPE coldrl_revalidation_misses_total counter\n"
            "coldrl_revalidation_misses_total %uA\n"
            "# HELP coldrl_fallbacks_total Decisions handed to nginx's LRU for want of an answer, by reason.\n"
            "# TYPE coldrl_fallbacks_total counter\n"
            "coldrl_fallbacks_total{reason=\"timeout\"} %uA\n"
            "coldrl_fallbacks_total{reason=\"connect\"} %uA\n"
            "coldrl_fallbacks_total{reason=\"bad_reply\"} %uA\n"
            "coldrl_fallbacks_total{reason=\"sidecar\"} %uA\n"
            "coldrl_fallbacks_total{reason=\"breaker\"} %uA\n"
            "# TYPE coldrl_sidecar_connected gauge\n"
            "coldrl_sidecar_connected %uA\n"
            "# HELP coldrl_sidecar_breaker_open 1 while decisions skip the sidecar after failures in a row.\n"
            "# TYPE coldrl_sidecar_breaker_open gauge\n"
            "coldrl_sidecar_breaker_open %uA\n"
            "# TYPE coldrl_sidecar_breaker_opens_total counter\n"
            "coldrl_sidecar_breaker_opens_total %uA\n"
            "# TYPE coldrl_sidecar_connects_total counter\n"
            "coldrl_sidecar_connects_total %uA\n"
            "# TYPE coldrl_sidecar_connect_failures_total counter\n"
            "coldrl_sidecar_connect_failures_total %uA\n"
            "# TYPE coldrl_pings_total counter\n"
            "coldrl_pings_total %uA\n"
            "# TYPE coldrl_tracked_requests_total counter\n"
            "coldrl_tracked_requests_total %uA\n"
            "# TYPE coldrl_side_table_entries gauge\n"
            "coldrl_side_table_entries %uD\n"
            "# TYPE coldrl_side_table_resident gauge\n"
            "coldrl_side_table_resident %uD\n"
            "# HELP coldrl_decision_latency_seconds Sidecar round trip of answered decisions.\n"
            "# TYPE coldrl_decision_latency_seconds histogram\n",
            c->decisions, c->model_decisions, c->shadow_decisions,
            c->model_evictions, c->handed_to_nginx, c->tail_placeholder,
            c->tail_expired, c->evicted_bytes,
            c->candidates, (double) c->collect_ns / 1e9,
            c->revalidation_misses,
            c->fb_timeout, c->fb_connect, c->fb_bad_reply, c->fb_sidecar,
            c->fb_breaker, c->connected, c->breaker_open, c->breaker_opens,
            c->connects, c->connect_failures, c->pings,
            c->tracked, nused, nres);

        cum = 0;
        for (i = 0; i < COLDRL_NBOUNDS; i++) {
            cum += c->lat_bucket[i];
            b->last = ngx_slprintf(b->last, b->end,
                         "coldrl_decision_latency_seconds_bucket{le=\"%.6f\"} %uA\n",
                         (double) ngx_http_coldrl_lat_bounds[i] / 1e6, cum);
        }

        cum += c->lat_bucket[COLDRL_NBOUNDS];
        b->last = ngx_slprintf(b->last, b->end,
                     "coldrl_decision_latency_seconds_bucket{le=\"+Inf\"} %uA\n"
                     "coldrl_decision_latency_seconds_sum %.6f\n"
                     "coldrl_decision_latency_seconds_count %uA\n",
                     cum, (double) c->lat_sum_us / 1e6, c->lat_count);

    } else {
        b->last = ngx_slprintf(b->last, b->end,
            "{\"enabled\":%s,\"shadow\":%s,\"candidates_source\":\"%s\","
            "\"k\":%ui,\"timeout_us\":%ui,"
            "\"decisions\":%uA,\"model_decisions\":%uA,"
            "\"shadow_decisions\":%uA,"
            "\"evictions\":{\"model\":%uA},\"handed_to_nginx\":%uA,"
            "\"tail_handoffs\":{\"placeholder\":%uA,\"expired\":%uA},"
            "\"evicted_bytes\":%uA,\"candidates\":%uA,\"collect_ns\":%uA,"
            "\"revalidation_misses\":%uA,"
            "\"fallbacks\":{\"timeout\":%uA,\"connect\":%uA,"
            "\"bad_reply\":%uA,\"sidecar\":%uA,\"breaker\":%uA},"
            "\"sidecar\":{\"connected\":%uA,\"connects\":%uA,"
            "\"connect_failures\":%uA,\"pings\":%uA,"
            "\"breaker_open\":%uA,\"breaker_opens\":%uA},"
            "\"side_table\":{\"capacity\":%uD,\"entries\":%uD,"
            "\"resident\":%uD,\"tracked_requests\":%uA,\"stored\":%uA,"
            "\"hits\":%uA},"
            "\"latency_us\":{\"count\":%uA,\"sum\":%uA,\"buckets\":[",
            mcf->enable == 1 ? "true" : "false",
            mcf->shadow == 1 ? "true" : "false",
            ngx_http_coldrl_source_names[mcf->source], mcf->k, mcf->timeout_us,
            c->decisions, c->model_decisions, c->shadow_decisions,
            c->model_evictions, c->handed_to_nginx, c->tail_placeholder,
            c->tail_expired, c->evicted_bytes,
            c->candidates, c->collect_ns, c->revalidation_misses,
            c->fb_timeout, c->fb_connect, c->fb_bad_reply, c->fb_sidecar,
            c->fb_breaker, c->connected, c->connects, c->connect_failures,
            c->pings, c->breaker_open, c->breaker_opens,
            nslots, nused, nres, c->tracked, c->stored, c->hits,
            c->lat_count, c->lat_sum_us);

        for (i = 0; i < COLDRL_NBOUNDS; i++) {
            b->last = ngx_slprintf(b->last, b->end, "%s{\"le\":%ui,\"count\":%uA}",
                                   i ? "," : "", ngx_http_coldrl_lat_bounds[i],
                                   c->lat_bucket[i]);
        }

        b->last = ngx_slprintf(b->last, b->end,
                               ",{\"le\":null,\"count\":%uA}]}}\n",
                               c->lat_bucket[COLDRL_NBOUNDS]);
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (prom) {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
