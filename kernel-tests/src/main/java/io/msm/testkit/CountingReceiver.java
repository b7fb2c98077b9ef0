package io.msm.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An ordinary UDP socket in a test namespace with a thread that counts what arrives (until closed):
 * a viewer that only needs to be counted.
 */
public final class CountingReceiver implements AutoCloseable {
    private final DatagramChannel channel;
    private final AtomicLong count = new AtomicLong();

    private CountingReceiver(DatagramChannel channel) {
        this.channel = channel;
        Thread t =
                new Thread(
                        () -> {
                            ByteBuffer b = ByteBuffer.allocate(2048);
                            try {
                                while (channel.receive(b) != null) {
                                    count.incrementAndGet();
                                    b.clear();
                                }
                            } catch (IOException closed) {
                                // closed at the end
                            }
                        },
                        "count-" + channel);
        t.setDaemon(true);
        t.start();
    }

    /** Bind addr inside ns and start counting. */
    public static CountingReceiver bind(Netns ns, InetSocketAddress addr) {
        return new CountingReceiver(ns.call(() -> DatagramChannel.open().bind(addr)));
    }

    public long count() {
        return count.get();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
