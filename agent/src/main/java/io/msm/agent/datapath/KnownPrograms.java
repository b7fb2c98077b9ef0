package io.msm.agent.datapath;

import io.msm.bpf.Datapath;
import io.msm.bpf.ProgInfo;
import io.msm.bpf.libbpf.Native;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The programs an agent can name and hold without BPF_PROG_GET_FD_BY_ID, which needs CAP_SYS_ADMIN
 * — and an agent in a pod has BPF, NET_ADMIN and PERFMON only: the ones it loaded, and the ones
 * pinned in its bpffs directory (the previous agent's, which an upgrade replaces and cleanup
 * removes). A program it does not know is looked up by id, which works only where the agent has
 * CAP_SYS_ADMIN (on a host, as root).
 *
 * <p>Every fd it hands out stays valid until {@link #close}; callers never close them.
 */
final class KnownPrograms implements AutoCloseable {
    private record Known(String name, int fd, boolean owned) {}

    private final Native n = Native.get();
    private final Map<Integer, Known> byId = new HashMap<>();

    private KnownPrograms() {}

    static KnownPrograms none() {
        return new KnownPrograms();
    }

    /** The datapath programs pinned in dir now (prog_* pins), opened through their pins. */
    static KnownPrograms pinned(Path dir) {
        KnownPrograms k = new KnownPrograms();
        for (String p : Datapath.PROGRAMS) {
            Path pin = dir.resolve(Datapath.progPin(p));
            if (!Files.exists(pin)) {
                continue;
            }
            int fd = k.n.bpf.bpf_obj_get(pin.toString());
            if (fd >= 0) {
                k.put(fd, true);
            }
        }
        return k;
    }

    /** A program this agent holds (e.g. one it loaded); the fd stays the caller's. */
    KnownPrograms add(int fd) {
        put(fd, false);
        return this;
    }

    private void put(int fd, boolean owned) {
        try {
            ProgInfo info = ProgInfo.of(fd);
            Known old = byId.put(info.id(), new Known(info.name(), fd, owned));
            if (old != null && old.owned()) {
                n.libc.close(old.fd());
            }
        } catch (RuntimeException e) {
            if (owned) {
                n.libc.close(fd);
            }
        }
    }

    /** The program's name, or null when this agent can neither recognise nor look up the id. */
    String name(int id) {
        Known k = known(id);
        return k == null ? null : k.name();
    }

    /** A name for messages: the program's, or why it is unknown. */
    String describe(int id) {
        String name = name(id);
        return name != null
                ? "'" + name + "' (id " + id + ")"
                : "id "
                        + id
                        + " (not one of msm's pinned programs; looking it up by id needs CAP_SYS_ADMIN)";
    }

    /** An fd of the program with this id, or -1 when it cannot be had. */
    int fd(int id) {
        Known k = known(id);
        return k == null ? -1 : k.fd();
    }

    private Known known(int id) {
        Known k = byId.get(id);
        if (k != null || id == 0) {
            return k;
        }
        int fd = n.bpf.bpf_prog_get_fd_by_id(id); // needs CAP_SYS_ADMIN
        if (fd < 0) {
            return null;
        }
        put(fd, true);
        return byId.get(id);
    }

    @Override
    public void close() {
        for (Known k : byId.values()) {
            if (k.owned()) {
                n.libc.close(k.fd());
            }
        }
        byId.clear();
    }
}
