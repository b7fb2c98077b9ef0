package io.msm.bpf.libbpf;

import java.util.Map;

/** Symbolic names of the errno values msm meets, for error messages. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int E2BIG = 7;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int ERANGE = 34;
    public static final int ENOSYS = 38;
    public static final int ENOLINK = 67;
    public static final int ENOTSUP = 95;
    public static final int EOPNOTSUPP = 95;

    private static final Map<Integer, String> NAMES =
            Map.ofEntries(
                    Map.entry(EPERM, "EPERM"),
                    Map.entry(ENOENT, "ENOENT"),
                    Map.entry(EINTR, "EINTR"),
                    Map.entry(E2BIG, "E2BIG"),
                    Map.entry(EBADF, "EBADF"),
                    Map.entry(EAGAIN, "EAGAIN"),
                    Map.entry(ENOMEM, "ENOMEM"),
                    Map.entry(EACCES, "EACCES"),
                    Map.entry(EFAULT, "EFAULT"),
                    Map.entry(EBUSY, "EBUSY"),
                    Map.entry(EEXIST, "EEXIST"),
                    Map.entry(ENODEV, "ENODEV"),
                    Map.entry(EINVAL, "EINVAL"),
                    Map.entry(ENOSPC, "ENOSPC"),
                    Map.entry(ERANGE, "ERANGE"),
                    Map.entry(ENOSYS, "ENOSYS"),
                    Map.entry(ENOLINK, "ENOLINK"),
                    Map.entry(EOPNOTSUPP, "EOPNOTSUPP"));

    private Errno() {}

    public static String name(int errno) {
        return NAMES.get(Math.abs(errno));
    }
}
