package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * struct msm_config: what the agent tells the classifier. Port meanings live in the separate {@link
 * PortTable}.
 */
public record DatapathConfig(int flags, int newflowRate, int newflowBurst, int[] clockRates) {
    public static final int F_FLOWS = 1;
    public static final int F_FANOUT = 2;
    public static final int F_RAKNET = 4;

    /** MSM_CFG_F_GAME: game services (msm_game_*) active. */
    public static final int F_GAME = 8;

    public static final int NUM_PT = 128;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_config", 528)
                    .u32("flags", 0)
                    .u32("newflow_rate", 4)
                    .u32("newflow_burst", 8)
                    .pad("pad", 12, 4)
                    .member("clock_rate", 16, 4 * NUM_PT)
                    .build();
    private static final int FLAGS = LAYOUT.u32("flags");
    private static final int NEWFLOW_RATE = LAYOUT.u32("newflow_rate");
    private static final int NEWFLOW_BURST = LAYOUT.u32("newflow_burst");
    private static final int PAD = LAYOUT.u32("pad");
    private static final int CLOCK_RATE = LAYOUT.array("clock_rate", 4, NUM_PT);

    public DatapathConfig {
        if (clockRates.length != NUM_PT) {
            throw new IllegalArgumentException("clockRates must have " + NUM_PT + " entries");
        }
    }

    /** Everything on, no rate limit, RFC 3551 clock rates. */
    public static DatapathConfig defaults() {
        return new DatapathConfig(F_FLOWS | F_FANOUT | F_RAKNET, 0, 0, defaultClockRates());
    }

    /**
     * RFC 3551 static payload types, 90 kHz for dynamic ones (96-127), as the kernel's built-in
     * fallback does.
     */
    public static int[] defaultClockRates() {
        int[] r = new int[NUM_PT];
        Arrays.fill(r, 8000);
        r[6] = 16000; // DVI4/16000
        r[10] = 44100; // L16 stereo
        r[11] = 44100; // L16 mono
        r[14] = 90000; // MPA
        r[16] = 11025; // DVI4/11025
        r[17] = 22050; // DVI4/22050
        for (int pt = 25; pt <= 34; pt++) {
            r[pt] = 90000; // CelB, JPEG, nv, H261, MPV, MP2T, H263
        }
        for (int pt = 96; pt < NUM_PT; pt++) {
            r[pt] = 90000;
        }
        return r;
    }

    public DatapathConfig withFlags(int f) {
        return new DatapathConfig(f, newflowRate, newflowBurst, clockRates);
    }

    public DatapathConfig withNewflowLimit(int rate, int burst) {
        return new DatapathConfig(flags, rate, burst, clockRates);
    }

    public DatapathConfig withClockRate(int pt, int hz) {
        int[] r = clockRates.clone();
        r[pt] = hz;
        return new DatapathConfig(flags, newflowRate, newflowBurst, r);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DatapathConfig c
                && c.flags == flags
                && c.newflowRate == newflowRate
                && c.newflowBurst == newflowBurst
                && Arrays.equals(c.clockRates, clockRates);
    }

    @Override
    public int hashCode() {
        return flags * 31 + Arrays.hashCode(clockRates);
    }

    @Override
    public String toString() {
        return "DatapathConfig[flags="
                + flags
                + ", newflowRate="
                + newflowRate
                + ", newflowBurst="
                + newflowBurst
                + "]";
    }

    public static final Codec<DatapathConfig> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, DatapathConfig c) {
                    b.putInt(off + FLAGS, c.flags);
                    b.putInt(off + NEWFLOW_RATE, c.newflowRate);
                    b.putInt(off + NEWFLOW_BURST, c.newflowBurst);
                    b.putInt(off + PAD, 0);
                    for (int i = 0; i < NUM_PT; i++) {
                        b.putInt(off + CLOCK_RATE + 4 * i, c.clockRates[i]);
                    }
                }

                @Override
                public DatapathConfig read(ByteBuffer b, int off) {
                    int[] r = new int[NUM_PT];
                    for (int i = 0; i < NUM_PT; i++) {
                        r[i] = b.getInt(off + CLOCK_RATE + 4 * i);
                    }
                    return new DatapathConfig(
                            b.getInt(off + FLAGS),
                            b.getInt(off + NEWFLOW_RATE),
                            b.getInt(off + NEWFLOW_BURST),
                            r);
                }
            };
}
