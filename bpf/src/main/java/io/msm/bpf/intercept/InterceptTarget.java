package io.msm.bpf.intercept;

import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * struct msm_icpt_target: the proxy an intercepted connection goes to. The address is IPv4 (the
 * connect4 hook); a null address keeps the port listed but passes its connections (the proxy's
 * address is not known yet).
 */
public record InterceptTarget(Inet4Address address, int port) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_icpt_target", 8)
                    .u32("addr", 0)
                    .u16("port", 4)
                    .u16("flags", 6)
                    .build();
    private static final int ADDR = LAYOUT.u32("addr");
    private static final int PORT = LAYOUT.u16("port");
    private static final int FLAGS = LAYOUT.u16("flags");

    public static InterceptTarget of(InetSocketAddress a) {
        if (!(a.getAddress() instanceof Inet4Address v4)) {
            throw new IllegalArgumentException(
                    "interception redirects IPv4 connects only; " + a + " is not IPv4");
        }
        return new InterceptTarget(v4, a.getPort());
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }

    @Override
    public String toString() {
        return (address == null ? "(no address)" : address.getHostAddress()) + ":" + port;
    }

    public static final Codec<InterceptTarget> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, InterceptTarget t) {
                    byte[] a = t.address == null ? new byte[4] : t.address.getAddress();
                    b.put(off + ADDR, a, 0, 4); // network order, as the kernel compares it
                    b.putShort(off + PORT, (short) t.port);
                    b.putShort(off + FLAGS, (short) 0); // reserved
                }

                @Override
                public InterceptTarget read(ByteBuffer b, int off) {
                    byte[] a = new byte[4];
                    b.get(off + ADDR, a, 0, 4);
                    Inet4Address addr = null;
                    if ((a[0] | a[1] | a[2] | a[3]) != 0) {
                        try {
                            addr = (Inet4Address) InetAddress.getByAddress(a);
                        } catch (UnknownHostException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    return new InterceptTarget(addr, b.getShort(off + PORT) & 0xffff);
                }
            };
}
