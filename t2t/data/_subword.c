/* Native encoding for t2t.data.text_encoder.SubwordTextEncoder.
 *
 * The pure-Python encoder in text_encoder.py is the reference; this module computes the same
 * ids in one C pass over the text, because the Python path is bound by per-line interpreter
 * work (splitting, memo look-ups, list joins) rather than by the algorithm:
 *
 *   1. Tokenize: maximal runs of alphanumeric / non-alphanumeric characters, where alphanumeric
 *      is Py_UNICODE_ISALNUM (what the regex class [^\W_] in tokenizer.py matches). A token
 *      that is exactly " " is dropped unless it is the first or the last one.
 *   2. Each token's ids come from a cache keyed by its code points. On a miss the token is
 *      escaped (as text_encoder._escape_token) and split greedily into the longest vocabulary
 *      subtokens from the left, walking a trie of the subtoken strings.
 *
 * When some part of a token matches no subtoken, encode() returns None and the caller runs the
 * Python path, which raises its DataError: error behaviour is defined in one place only.
 *
 * Everything works on code points (PyUnicode_READ), so equal tokens hit the same cache entry
 * whatever the kind (1, 2 or 4 bytes per character) of the string they come from.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define SW_INLINE static inline __attribute__((always_inline))
#else
#define SW_INLINE static inline
#endif

#define NUM_CODE_POINTS 0x110000
#define CODE_POINT_BITS 21
#define EMPTY_EDGE UINT64_MAX
#define FNV_PRIME 0x100000001b3ULL
#define FIB_MULTIPLIER 0x9E3779B97F4A7C15ULL
/* The longest escape of one character: "\\" then "\\1114111;" ("_" becomes two escapes). */
#define MAX_ESCAPE_PER_CHAR 10
#define NO_MATCH 1

/* Py_UNICODE_ISALNUM is several table look-ups; the Basic Multilingual Plane is precomputed. */
static uint8_t bmp_alnum[0x10000 / 8];
/* Seeds the token hash from Python's (randomised) string hash, so crafted text cannot pick
 * colliding tokens in advance. */
static uint64_t hash_seed;

SW_INLINE int is_alnum(Py_UCS4 ch) {
    if (ch < 0x10000) {
        return (bmp_alnum[ch >> 3] >> (ch & 7)) & 1;
    }
    return Py_UNICODE_ISALNUM(ch) ? 1 : 0;
}

SW_INLINE int bit_is_set(const uint8_t *bits, Py_UCS4 ch) {
    return (bits[ch >> 3] >> (ch & 7)) & 1;
}

typedef struct {
    uint64_t hash;
    Py_ssize_t key_start; /* into keys */
    Py_ssize_t key_len;
    Py_ssize_t ids_start; /* into cached_ids */
    Py_ssize_t num_ids;
} CacheEntry;

typedef struct {
    PyObject_HEAD
    /* Vocabulary trie: node 0 is the root; edges live in one open-addressing table keyed by
     * (parent node << 21 | code point). node_ids[node] is the id of the subtoken spelled by the
     * path to the node, or -1. */
    uint64_t *edge_keys;
    int32_t *edge_children;
    size_t edge_mask;
    int edge_shift;
    int32_t *node_ids;
    Py_ssize_t num_nodes;
    uint8_t *alphabet; /* one bit per code point; "\n" is always cleared */
    PyObject **id_objects; /* ints 0 .. vocab_size - 1, shared by every returned list */
    Py_ssize_t vocab_size;
    /* Token cache: slots hold indices into entries (-1: empty). */
    int32_t *slots;
    size_t slot_mask;
    int slot_shift;
    CacheEntry *entries;
    Py_ssize_t num_entries, entries_cap;
    Py_UCS4 *keys;
    Py_ssize_t keys_len, keys_cap;
    int32_t *cached_ids;
    Py_ssize_t cached_len, cached_cap;
    Py_ssize_t cache_limit;
    /* Scratch buffers. */
    Py_UCS4 *escaped;
    Py_ssize_t escaped_cap;
    int32_t *out;
    Py_ssize_t out_len, out_cap;
} Encoder;

/* Makes room for `need` elements of `size` bytes in *buf (capacity *cap); -1 on failure. */
static int reserve(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t size) {
    if (need <= *cap) {
        return 0;
    }
    Py_ssize_t new_cap = *cap > 16 ? *cap : 16;
    while (new_cap < need) {
        if (new_cap > PY_SSIZE_T_MAX / 2) {
            new_cap = need;
            break;
        }
        new_cap *= 2;
    }
    if ((size_t)new_cap > PY_SSIZE_T_MAX / size) {
        PyErr_NoMemory();
        return -1;
    }
    void *new_buf = PyMem_Realloc(*buf, (size_t)new_cap * size);
    if (new_buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = new_buf;
    *cap = new_cap;
    return 0;
}

#define RESERVE(buf, cap, need) reserve((void **)&(buf), &(cap), (need), sizeof(*(buf)))

/* ------------------------------------------------------------------------------ trie */

SW_INLINE size_t edge_slot(const Encoder *self, uint64_t key) {
    return (size_t)((key * FIB_MULTIPLIER) >> self->edge_shift);
}

SW_INLINE int32_t edge_find(const Encoder *self, int32_t node, Py_UCS4 ch) {
    uint64_t key = ((uint64_t)node << CODE_POINT_BITS) | ch;
    size_t i = edge_slot(self, key);
    for (;;) {
        uint64_t found = self->edge_keys[i];
        if (found == key) {
            return self->edge_children[i];
        }
        if (found == EMPTY_EDGE) {
            return -1;
        }
        i = (i + 1) & self->edge_mask;
    }
}

/* Adds `subtoken` with `id` to the trie (a later duplicate overwrites the id). */
static int trie_add(Encoder *self, PyObject *subtoken, int32_t id) {
    int kind = PyUnicode_KIND(subtoken);
    const void *data = PyUnicode_DATA(subtoken);
    Py_ssize_t len = PyUnicode_GET_LENGTH(subtoken);
    int32_t node = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        int32_t child = edge_find(self, node, ch);
        if (child < 0) {
            uint64_t key = ((uint64_t)node << CODE_POINT_BITS) | ch;
            size_t slot = edge_slot(self, key);
            while (self->edge_keys[slot] != EMPTY_EDGE) {
                slot = (slot + 1) & self->edge_mask;
            }
            child = (int32_t)self->num_nodes++;
            self->node_ids[child] = -1;
            self->edge_keys[slot] = key;
            self->edge_children[slot] = child;
        }
        node = child;
    }
    self->node_ids[node] = id;
    return 0;
}

/* Sizes the trie for `total_chars` characters (an upper bound on the number of edges). */
static int trie_alloc(Encoder *self, Py_ssize_t total_chars) {
    if (total_chars >= INT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "subtoken vocabulary too large");
        return -1;
    }
    int bits = 4;
    while (((size_t)1 << bits) < (size_t)(2 * total_chars + 2)) {
        bits++;
    }
    size_t slots = (size_t)1 << bits;
    self->edge_keys = PyMem_Malloc(slots * sizeof(uint64_t));
    self->edge_children = PyMem_Malloc(slots * sizeof(int32_t));
    self->node_ids = PyMem_Malloc((size_t)(total_chars + 1) * sizeof(int32_t));
    if (!self->edge_keys || !self->edge_children || !self->node_ids) {
        PyErr_NoMemory();
        return -1;
    }
    memset(self->edge_keys, 0xFF, slots * sizeof(uint64_t));
    self->edge_mask = slots - 1;
    self->edge_shift = 64 - bits;
    self->node_ids[0] = -1;
    self->num_nodes = 1;
    return 0;
}

/* ------------------------------------------------------------------------------ token cache */

static int slots_alloc(Encoder *self, int bits) {
    size_t count = (size_t)1 << bits;
    int32_t *slots = PyMem_Malloc(count * sizeof(int32_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(slots, 0xFF, count * sizeof(int32_t));
    PyMem_Free(self->slots);
    self->slots = slots;
    self->slot_mask = count - 1;
    self->slot_shift = 64 - bits;
    return 0;
}

SW_INLINE size_t cache_slot(const Encoder *self, uint64_t hash) {
    return (size_t)((hash * FIB_MULTIPLIER) >> self->slot_shift);
}

static void cache_insert_slot(Encoder *self, uint64_t hash, int32_t entry) {
    size_t i = cache_slot(self, hash);
    while (self->slots[i] >= 0) {
        i = (i + 1) & self->slot_mask;
    }
    self->slots[i] = entry;
}

/* Keeps the slot table at most half full. */
static int cache_grow_slots(Encoder *self) {
    if ((size_t)(self->num_entries + 1) * 2 <= self->slot_mask + 1) {
        return 0;
    }
    if (slots_alloc(self, 64 - self->slot_shift + 1) < 0) {
        return -1;
    }
    for (Py_ssize_t e = 0; e < self->num_entries; e++) {
        cache_insert_slot(self, self->entries[e].hash, (int32_t)e);
    }
    return 0;
}

static void cache_clear(Encoder *self) {
    self->num_entries = 0;
    self->keys_len = 0;
    self->cached_len = 0;
    memset(self->slots, 0xFF, (self->slot_mask + 1) * sizeof(int32_t));
}

/* The entry holding text[start:start + len], or -1. */
SW_INLINE Py_ssize_t cache_find(const Encoder *self, uint64_t hash, int kind, const void *data,
                                Py_ssize_t start, Py_ssize_t len) {
    size_t i = cache_slot(self, hash);
    for (;;) {
        int32_t e = self->slots[i];
        if (e < 0) {
            return -1;
        }
        const CacheEntry *entry = &self->entries[e];
        if (entry->hash == hash && entry->key_len == len) {
            const Py_UCS4 *key = self->keys + entry->key_start;
            Py_ssize_t j = 0;
            while (j < len && key[j] == PyUnicode_READ(kind, data, start + j)) {
                j++;
            }
            if (j == len) {
                return e;
            }
        }
        i = (i + 1) & self->slot_mask;
    }
}

/* ------------------------------------------------------------------------------ token ids */

/* Writes `ch` as _escape_token does for one character of the replaced token. */
SW_INLINE Py_ssize_t escape_char(const uint8_t *alphabet, Py_UCS4 ch, Py_UCS4 *out) {
    if (bit_is_set(alphabet, ch)) {
        out[0] = ch;
        return 1;
    }
    Py_UCS4 digits[8];
    int num_digits = 0;
    do {
        digits[num_digits++] = '0' + ch % 10;
        ch /= 10;
    } while (ch);
    Py_ssize_t n = 0;
    out[n++] = '\\';
    while (num_digits) {
        out[n++] = digits[--num_digits];
    }
    out[n++] = ';';
    return n;
}

/* Escapes text[start:start + len] into self->escaped; returns its length, or -1. */
static Py_ssize_t escape_token(Encoder *self, int kind, const void *data, Py_ssize_t start,
                               Py_ssize_t len) {
    if (len > (PY_SSIZE_T_MAX - 1) / MAX_ESCAPE_PER_CHAR ||
        RESERVE(self->escaped, self->escaped_cap, len * MAX_ESCAPE_PER_CHAR + 1) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        return -1;
    }
    Py_UCS4 *out = self->escaped;
    Py_ssize_t n = 0;
    for (Py_ssize_t i = start; i < start + len; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        /* "\\" -> "\\\\" and "_" -> "\\u" first; then every resulting character not in the
         * alphabet (or "\n") becomes "\\<decimal>;". */
        if (ch == '\\') {
            n += escape_char(self->alphabet, '\\', out + n);
            n += escape_char(self->alphabet, '\\', out + n);
        } else if (ch == '_') {
            n += escape_char(self->alphabet, '\\', out + n);
            n += escape_char(self->alphabet, 'u', out + n);
        } else {
            n += escape_char(self->alphabet, ch, out + n);
        }
    }
    out[n++] = '_';
    return n;
}

/* Greedy longest-prefix split of self->escaped[0:len], ids appended to cached_ids.
 * Returns 0, NO_MATCH (some position matches no subtoken) or -1 (error set). */
static int split_escaped(Encoder *self, Py_ssize_t len) {
    if (RESERVE(self->cached_ids, self->cached_cap, self->cached_len + len) < 0) {
        return -1;
    }
    const Py_UCS4 *escaped = self->escaped;
    Py_ssize_t start = 0;
    Py_ssize_t count = self->cached_len;
    while (start < len) {
        int32_t node = 0, best_id = -1;
        Py_ssize_t best_end = start;
        for (Py_ssize_t end = start; end < len; end++) {
            node = edge_find(self, node, escaped[end]);
            if (node < 0) {
                break;
            }
            if (self->node_ids[node] >= 0) {
                best_id = self->node_ids[node];
                best_end = end + 1;
            }
        }
        if (best_id < 0) {
            return NO_MATCH;
        }
        self->cached_ids[count++] = best_id;
        start = best_end;
    }
    self->cached_len = count;
    return 0;
}

/* Computes and caches the ids of text[start:start + len]; the new entry's index goes to
 * *entry_index. Returns 0, NO_MATCH or -1. */
static int cache_add(Encoder *self, uint64_t hash, int kind, const void *data, Py_ssize_t start,
                     Py_ssize_t len, Py_ssize_t *entry_index) {
    if (self->num_entries >= self->cache_limit) {
        cache_clear(self); /* as the Python memo: bounded memory on endless distinct tokens */
    }
    Py_ssize_t escaped_len = escape_token(self, kind, data, start, len);
    if (escaped_len < 0) {
        return -1;
    }
    Py_ssize_t ids_start = self->cached_len;
    int status = split_escaped(self, escaped_len);
    if (status != 0) {
        return status;
    }
    if (RESERVE(self->keys, self->keys_cap, self->keys_len + len) < 0 ||
        RESERVE(self->entries, self->entries_cap, self->num_entries + 1) < 0 ||
        cache_grow_slots(self) < 0) {
        self->cached_len = ids_start;
        return -1;
    }
    for (Py_ssize_t j = 0; j < len; j++) {
        self->keys[self->keys_len + j] = PyUnicode_READ(kind, data, start + j);
    }
    CacheEntry *entry = &self->entries[self->num_entries];
    entry->hash = hash;
    entry->key_start = self->keys_len;
    entry->key_len = len;
    entry->ids_start = ids_start;
    entry->num_ids = self->cached_len - ids_start;
    self->keys_len += len;
    cache_insert_slot(self, hash, (int32_t)self->num_entries);
    *entry_index = self->num_entries++;
    return 0;
}

/* ------------------------------------------------------------------------------ encoding */

/* Tokenizes text and appends the ids of every kept token to self->out. Inlined once per
 * string kind, so PyUnicode_READ compiles to a plain load. Returns 0, NO_MATCH or -1. */
SW_INLINE int encode_text(Encoder *self, int kind, const void *data, Py_ssize_t n) {
    Py_ssize_t pos = 0;
    while (pos < n) {
        Py_ssize_t start = pos;
        Py_UCS4 first = PyUnicode_READ(kind, data, pos);
        Py_UCS4 ch = first;
        int alnum = is_alnum(ch);
        uint64_t hash = hash_seed;
        for (;;) {
            hash = (hash ^ ch) * FNV_PRIME;
            if (++pos == n) {
                break;
            }
            ch = PyUnicode_READ(kind, data, pos);
            if (is_alnum(ch) != alnum) {
                break;
            }
        }
        Py_ssize_t len = pos - start;
        if (len == 1 && first == ' ' && start != 0 && pos != n) {
            continue; /* a single space between two tokens: implied, dropped */
        }
        Py_ssize_t e = cache_find(self, hash, kind, data, start, len);
        if (e < 0) {
            int status = cache_add(self, hash, kind, data, start, len, &e);
            if (status != 0) {
                return status;
            }
        }
        const CacheEntry *entry = &self->entries[e];
        if (RESERVE(self->out, self->out_cap, self->out_len + entry->num_ids) < 0) {
            return -1;
        }
        memcpy(self->out + self->out_len, self->cached_ids + entry->ids_start,
               (size_t)entry->num_ids * sizeof(int32_t));
        self->out_len += entry->num_ids;
    }
    return 0;
}

static PyObject *Encoder_encode(Encoder *self, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "encode() expects str, got %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int status;
    self->out_len = 0;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        status = encode_text(self, PyUnicode_1BYTE_KIND, data, n);
        break;
    case PyUnicode_2BYTE_KIND:
        status = encode_text(self, PyUnicode_2BYTE_KIND, data, n);
        break;
    default:
        status = encode_text(self, PyUnicode_4BYTE_KIND, data, n);
        break;
    }
    if (status < 0) {
        return NULL;
    }
    if (status == NO_MATCH) {
        Py_RETURN_NONE;
    }
    /* PyList_New may run a garbage collection, whose finalizers could call encode() on this
     * object again: keep the ids in a buffer that the nested call cannot touch. */
    int32_t *ids = self->out;
    Py_ssize_t num_ids = self->out_len, ids_cap = self->out_cap;
    self->out = NULL;
    self->out_cap = 0;
    PyObject *list = PyList_New(num_ids);
    if (list != NULL) {
        for (Py_ssize_t i = 0; i < num_ids; i++) {
            PyObject *id = self->id_objects[ids[i]];
            Py_INCREF(id);
            PyList_SET_ITEM(list, i, id);
        }
    }
    if (self->out == NULL) {
        self->out = ids;
        self->out_cap = ids_cap;
    } else {
        PyMem_Free(ids);
    }
    return list;
}

static PyObject *Encoder_cache_size(Encoder *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSsize_t(self->num_entries);
}

/* ------------------------------------------------------------------------------ construction */

static int set_alphabet(Encoder *self, PyObject *alphabet) {
    self->alphabet = PyMem_Calloc(NUM_CODE_POINTS / 8, 1);
    if (self->alphabet == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *iter = PyObject_GetIter(alphabet);
    if (iter == NULL) {
        return -1;
    }
    PyObject *item;
    while ((item = PyIter_Next(iter)) != NULL) {
        /* Only single characters can ever be looked up in the alphabet. */
        if (PyUnicode_Check(item) && PyUnicode_GET_LENGTH(item) == 1) {
            Py_UCS4 ch = PyUnicode_READ_CHAR(item, 0);
            self->alphabet[ch >> 3] |= (uint8_t)(1 << (ch & 7));
        }
        Py_DECREF(item);
    }
    Py_DECREF(iter);
    if (PyErr_Occurred()) {
        return -1;
    }
    self->alphabet['\n' >> 3] &= (uint8_t) ~(1 << ('\n' & 7)); /* "\n" is always escaped */
    return 0;
}

static int set_vocab(Encoder *self, PyObject *subtoken_ids) {
    Py_ssize_t total_chars = 0, pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(subtoken_ids, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "subtoken strings must be str");
            return -1;
        }
        total_chars += PyUnicode_GET_LENGTH(key);
    }
    if (trie_alloc(self, total_chars) < 0) {
        return -1;
    }
    pos = 0;
    while (PyDict_Next(subtoken_ids, &pos, &key, &value)) {
        Py_ssize_t id = PyLong_AsSsize_t(value);
        if (id == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (id < 0 || id >= self->vocab_size) {
            PyErr_Format(PyExc_ValueError, "subtoken id %zd outside [0, %zd)", id,
                         self->vocab_size);
            return -1;
        }
        if (PyUnicode_GET_LENGTH(key) > 0 && trie_add(self, key, (int32_t)id) < 0) {
            return -1;
        }
    }
    return 0;
}

static int set_id_objects(Encoder *self) {
    self->id_objects = PyMem_Calloc((size_t)self->vocab_size + 1, sizeof(PyObject *));
    if (self->id_objects == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->vocab_size; i++) {
        self->id_objects[i] = PyLong_FromSsize_t(i);
        if (self->id_objects[i] == NULL) {
            return -1;
        }
    }
    return 0;
}

static void Encoder_dealloc(Encoder *self) {
    if (self->id_objects != NULL) {
        for (Py_ssize_t i = 0; i < self->vocab_size; i++) {
            Py_XDECREF(self->id_objects[i]);
        }
    }
    PyMem_Free(self->id_objects);
    PyMem_Free(self->edge_keys);
    PyMem_Free(self->edge_children);
    PyMem_Free(self->node_ids);
    PyMem_Free(self->alphabet);
    PyMem_Free(self->slots);
    PyMem_Free(self->entries);
    PyMem_Free(self->keys);
    PyMem_Free(self->cached_ids);
    PyMem_Free(self->escaped);
    PyMem_Free(self->out);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Encoder_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"subtoken_ids", "vocab_size", "alphabet", "cache_limit", NULL};
    PyObject *subtoken_ids, *alphabet;
    Py_ssize_t vocab_size, cache_limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!nOn", keywords, &PyDict_Type,
                                     &subtoken_ids, &vocab_size, &alphabet, &cache_limit)) {
        return NULL;
    }
    if (vocab_size < 0 || vocab_size > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "vocab_size must be in [0, 2**31)");
        return NULL;
    }
    if (cache_limit < 1 || cache_limit > INT32_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "cache_limit must be in [1, 2**29)");
        return NULL;
    }
    Encoder *self = (Encoder *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vocab_size = vocab_size;
    self->cache_limit = cache_limit;
    if (set_id_objects(self) < 0 || set_alphabet(self, alphabet) < 0 ||
        set_vocab(self, subtoken_ids) < 0 || slots_alloc(self, 10) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyMethodDef Encoder_methods[] = {
    {"encode", (PyCFunction)Encoder_encode, METH_O,
     "encode(text) -> list of ids, or None if some token matches no subtoken."},
    {"cache_size", (PyCFunction)Encoder_cache_size, METH_NOARGS,
     "Number of distinct tokens in the cache."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "t2t.data._subword.Encoder",
    .tp_basicsize = sizeof(Encoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Encoder(subtoken_ids, vocab_size, alphabet, cache_limit)\n\n"
              "subtoken_ids: dict subtoken string -> id; alphabet: iterable of characters that\n"
              "need no escape; cache_limit: the token cache is cleared at this many entries.",
    .tp_new = Encoder_new,
    .tp_dealloc = (destructor)Encoder_dealloc,
    .tp_methods = Encoder_methods,
};

static int init_tables(void) {
    for (Py_UCS4 ch = 0; ch < 0x10000; ch++) {
        if (Py_UNICODE_ISALNUM(ch)) {
            bmp_alnum[ch >> 3] |= (uint8_t)(1 << (ch & 7));
        }
    }
    PyObject *seed_text = PyUnicode_FromString("t2t.data._subword");
    if (seed_text == NULL) {
        return -1;
    }
    Py_hash_t seed = PyObject_Hash(seed_text);
    Py_DECREF(seed_text);
    if (seed == -1 && PyErr_Occurred()) {
        return -1;
    }
    hash_seed = 0xcbf29ce484222325ULL ^ (uint64_t)seed;
    return 0;
}

static struct PyModuleDef subword_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "t2t.data._subword",
    .m_doc = "Native SubwordTextEncoder.encode (see text_encoder.py for the reference).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__subword(void) {
    if (init_tables() < 0 || PyType_Ready(&EncoderType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&subword_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&EncoderType);
    if (PyModule_AddObject(module, "Encoder", (PyObject *)&EncoderType) < 0) {
        Py_DECREF(&EncoderType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
