package io.msm.bpf.maps;

import io.msm.bpf.BpfException;
import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.LibBpf;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.libbpf.Opts;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A typed view of one BPF map, by file descriptor. Keys and values are Java records encoded by
 * {@link Codec}s; the sizes are checked against the kernel's when the view is made, so a layout
 * mismatch fails at once and names the map.
 *
 * <p>Per-CPU maps hold one value per possible CPU: {@link #lookupPerCpu} returns them all, {@link
 * #lookup} is not allowed on them.
 *
 * <p>Instances are thread-safe: every call uses its own buffers.
 */
public class BpfMap<K, V> implements AutoCloseable {
    public static final long BPF_ANY = 0;
    public static final long BPF_NOEXIST = 1;
    public static final long BPF_EXIST = 2;

    private final Native n;
    private final int fd;
    private final boolean ownsFd;
    private final MapInfo info;
    private final Codec<K> keys;
    private final Codec<V> values;
    private final int valueStride;
    private final int ncpus;
    private volatile Boolean batchSupported;

    public BpfMap(int fd, boolean ownsFd, Codec<K> keys, Codec<V> values) {
        this.n = Native.get();
        this.fd = fd;
        this.ownsFd = ownsFd;
        this.keys = keys;
        this.values = values;
        this.info = info(n, fd);
        if (info.keySize() != keys.size() || info.valueSize() != values.size()) {
            throw new BpfException(
                    "map '"
                            + info.name()
                            + "' has key/value size "
                            + info.keySize()
                            + "/"
                            + info.valueSize()
                            + " but this msm expects "
                            + keys.size()
                            + "/"
                            + values.size()
                            + ": the pinned datapath has a different layout (see 'msm status'; restart msm-agent to upgrade)");
        }
        this.ncpus = info.perCpu() ? n.bpf.libbpf_num_possible_cpus() : 1;
        this.valueStride = info.perCpu() ? (values.size() + 7) & ~7 : values.size();
    }

    /** Open a pinned map by path; the view owns the new descriptor. */
    public static <K, V> BpfMap<K, V> openPinned(String path, Codec<K> keys, Codec<V> values) {
        Native n = Native.get();
        int fd = n.bpf.bpf_obj_get(path);
        if (fd < 0) {
            int e = n.lastErrno();
            String hint = BpfException.hintFor(e);
            throw new BpfException(
                    "cannot open pinned map "
                            + path
                            + ": "
                            + n.describe(e)
                            + (hint != null ? " — " + hint : ""),
                    e);
        }
        try {
            return new BpfMap<>(fd, true, keys, values);
        } catch (RuntimeException ex) {
            n.libc.close(fd);
            throw ex;
        }
    }

    public static MapInfo info(Native n, int fd) {
        Pointer buf = Memory.allocateDirect(n.runtime, 88, true);
        Pointer len = Memory.allocateDirect(n.runtime, 4, true);
        len.putInt(0, 88);
        int rc = n.bpf.bpf_obj_get_info_by_fd(fd, buf, len);
        if (rc < 0) {
            throw new BpfException(
                    "bpf_obj_get_info_by_fd(map fd " + fd + "): " + n.describe(rc), rc);
        }
        byte[] name = new byte[16];
        buf.get(24, name, 0, 16);
        int z = 0;
        while (z < 16 && name[z] != 0) {
            z++;
        }
        return new MapInfo(
                buf.getInt(0),
                buf.getInt(4),
                buf.getInt(8),
                buf.getInt(12),
                buf.getInt(16),
                buf.getInt(20),
                new String(name, 0, z, StandardCharsets.US_ASCII));
    }

    public int fd() {
        return fd;
    }

    public MapInfo info() {
        return info;
    }

    public String name() {
        return info.name();
    }

    public int maxEntries() {
        return info.maxEntries();
    }

    public int possibleCpus() {
        return ncpus;
    }

    private ByteBuffer buffer(int size) {
        return ByteBuffer.allocateDirect(Math.max(size, 8)).order(ByteOrder.nativeOrder());
    }

    private Pointer ptr(ByteBuffer b) {
        return Pointer.wrap(n.runtime, b);
    }

    private ByteBuffer keyBuf(K key) {
        ByteBuffer kb = buffer(keys.size());
        keys.write(kb, 0, key);
        return kb;
    }

    /** The value for key, or empty. Not for per-CPU maps. */
    public Optional<V> lookup(K key) {
        if (info.perCpu()) {
            throw new IllegalStateException("map " + name() + " is per-CPU: use lookupPerCpu");
        }
        ByteBuffer vb = buffer(values.size());
        int rc = n.bpf.bpf_map_lookup_elem(fd, ptr(keyBuf(key)), ptr(vb));
        if (rc < 0) {
            if (-rc == Errno.ENOENT) {
                return Optional.empty();
            }
            throw fail("lookup", rc);
        }
        return Optional.of(values.read(vb, 0));
    }

    /** One value per possible CPU, or empty when the key is absent. */
    public Optional<List<V>> lookupPerCpu(K key) {
        ByteBuffer vb = buffer(valueStride * ncpus);
        int rc = n.bpf.bpf_map_lookup_elem(fd, ptr(keyBuf(key)), ptr(vb));
        if (rc < 0) {
            if (-rc == Errno.ENOENT) {
                return Optional.empty();
            }
            throw fail("lookup", rc);
        }
        List<V> out = new ArrayList<>(ncpus);
        for (int c = 0; c < ncpus; c++) {
            out.add(values.read(vb, c * valueStride));
        }
        return Optional.of(out);
    }

    public void update(K key, V value) {
        update(key, value, BPF_ANY);
    }

    public void update(K key, V value, long flags) {
        ByteBuffer vb;
        if (info.perCpu()) {
            vb = buffer(valueStride * ncpus);
            for (int c = 0; c < ncpus; c++) {
                values.write(vb, c * valueStride, value);
            }
        } else {
            vb = buffer(values.size());
            values.write(vb, 0, value);
        }
        int rc = n.bpf.bpf_map_update_elem(fd, ptr(keyBuf(key)), ptr(vb), flags);
        if (rc < 0) {
            throw fail("update", rc);
        }
    }

    /** Delete key; false when it was not there. */
    public boolean delete(K key) {
        int rc = n.bpf.bpf_map_delete_elem(fd, ptr(keyBuf(key)));
        if (rc < 0) {
            if (-rc == Errno.ENOENT) {
                return false;
            }
            throw fail("delete", rc);
        }
        return true;
    }

    /** Every key, by bpf_map_get_next_key (a snapshot that may race with the datapath). */
    public List<K> keys() {
        List<K> out = new ArrayList<>();
        ByteBuffer cur = buffer(keys.size());
        ByteBuffer next = buffer(keys.size());
        Pointer curP = null;
        while (true) {
            int rc = n.bpf.bpf_map_get_next_key(fd, curP, ptr(next));
            if (rc < 0) {
                if (-rc == Errno.ENOENT) {
                    return out;
                }
                throw fail("get_next_key", rc);
            }
            out.add(keys.read(next, 0));
            ByteBuffer t = cur;
            cur = next;
            next = t;
            curP = ptr(cur);
        }
    }

    /**
     * Visit every element. Uses BPF_MAP_LOOKUP_BATCH (one system call per {@code chunk} elements)
     * where the kernel and map type support it, else get_next_key + lookup. Entries deleted
     * concurrently are skipped.
     */
    public void forEach(BiConsumer<K, V> visitor) {
        if (info.perCpu()) {
            throw new IllegalStateException("map " + name() + " is per-CPU: use forEachPerCpu");
        }
        if (!Boolean.FALSE.equals(batchSupported) && !info.isArray()) {
            try {
                // about 1 MB of buffers per call, whatever the element size (a fan-out group is 36
                // kB)
                int chunk = Math.max(1, Math.min(4096, (1 << 20) / (keys.size() + values.size())));
                batch(visitor, Math.min(chunk, Math.max(1, info.maxEntries())));
                batchSupported = Boolean.TRUE;
                return;
            } catch (BatchUnsupported e) {
                batchSupported = Boolean.FALSE;
            }
        }
        for (K k : keys()) {
            lookup(k).ifPresent(v -> visitor.accept(k, v));
        }
    }

    /** All elements as a list of entries. */
    public List<Map.Entry<K, V>> entries() {
        List<Map.Entry<K, V>> out = new ArrayList<>();
        forEach((k, v) -> out.add(Map.entry(k, v)));
        return out;
    }

    /** Visit every element of a per-CPU map with its per-CPU values. */
    public void forEachPerCpu(BiConsumer<K, List<V>> visitor) {
        for (K k : keys()) {
            lookupPerCpu(k).ifPresent(v -> visitor.accept(k, v));
        }
    }

    private static final class BatchUnsupported extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    private void batch(BiConsumer<K, V> visitor, int chunk) {
        LibBpf b = n.bpf;
        // hash maps: the batch token is a key-sized opaque cursor
        ByteBuffer inBatch = buffer(Math.max(keys.size(), 8));
        ByteBuffer outBatch = buffer(Math.max(keys.size(), 8));
        ByteBuffer kb = buffer(keys.size() * chunk);
        ByteBuffer vb = buffer(values.size() * chunk);
        ByteBuffer count = buffer(4);
        Pointer opts = Opts.batchOpts(n);
        boolean first = true;
        while (true) {
            count.putInt(0, chunk);
            int rc =
                    b.bpf_map_lookup_batch(
                            fd,
                            first ? null : ptr(inBatch),
                            ptr(outBatch),
                            ptr(kb),
                            ptr(vb),
                            ptr(count),
                            opts);
            int got = count.getInt(0);
            if (rc < 0 && -rc != Errno.ENOENT) {
                if (first && (-rc == Errno.EINVAL || -rc == Errno.ENOTSUP || -rc == Errno.ENOSYS)) {
                    throw new BatchUnsupported();
                }
                throw fail("lookup_batch", rc);
            }
            for (int i = 0; i < got; i++) {
                visitor.accept(keys.read(kb, i * keys.size()), values.read(vb, i * values.size()));
            }
            if (rc < 0) {
                return; // ENOENT: no more elements
            }
            ByteBuffer t = inBatch;
            inBatch = outBatch;
            outBatch = t;
            first = false;
        }
    }

    /** Pop one element of a QUEUE/STACK map; empty when it is empty. */
    public Optional<V> pop() {
        ByteBuffer vb = buffer(values.size());
        int rc = n.bpf.bpf_map_lookup_and_delete_elem(fd, null, ptr(vb));
        if (rc < 0) {
            if (-rc == Errno.ENOENT) {
                return Optional.empty();
            }
            throw fail("pop", rc);
        }
        return Optional.of(values.read(vb, 0));
    }

    /** Number of elements (iterates the keys). */
    public int count() {
        return keys().size();
    }

    private BpfException fail(String op, int rc) {
        String hint = BpfException.hintFor(rc);
        return new BpfException(
                "map "
                        + name()
                        + ": "
                        + op
                        + " failed: "
                        + n.describe(rc)
                        + (hint != null ? " — " + hint : ""),
                rc);
    }

    @Override
    public void close() {
        if (ownsFd) {
            n.libc.close(fd);
        }
    }
}
