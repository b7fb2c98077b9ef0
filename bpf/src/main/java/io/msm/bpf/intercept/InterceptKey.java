package io.msm.bpf.intercept;

import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import java.nio.ByteBuffer;

/** struct msm_icpt_key: a destination port (host order) whose TCP connects are intercepted. */
public record InterceptKey(int port, int proto) {
    public static final int IPPROTO_TCP = 6;

    public static final StructLayout LAYOUT =
            StructLayout.of("msm_icpt_key", 4, "port", 0, "proto", 2, "pad", 3);

    public static InterceptKey tcp(int port) {
        return new InterceptKey(port, IPPROTO_TCP);
    }

    public static final Codec<InterceptKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, InterceptKey k) {
                    b.putShort(off, (short) k.port);
                    b.put(off + 2, (byte) k.proto);
                    b.put(off + 3, (byte) 0); // keys are compared bytewise: padding too
                }

                @Override
                public InterceptKey read(ByteBuffer b, int off) {
                    return new InterceptKey(b.getShort(off) & 0xffff, b.get(off + 2) & 0xff);
                }
            };
}
