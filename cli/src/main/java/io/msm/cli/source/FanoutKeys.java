package io.msm.cli.source;

import io.msm.bpf.maps.FanoutKey;
import java.util.Arrays;
import java.util.Comparator;

/** Orders fan-out groups by upstream address, then port, for stable output. */
public final class FanoutKeys {
    public static final Comparator<FanoutKey> ORDER =
            (a, b) -> {
                int c = Arrays.compareUnsigned(a.addr().getAddress(), b.addr().getAddress());
                return c != 0 ? c : Integer.compare(a.port(), b.port());
            };

    private FanoutKeys() {}
}
