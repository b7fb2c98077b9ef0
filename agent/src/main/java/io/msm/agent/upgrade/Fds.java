package io.msm.agent.upgrade;

import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;

/** Raw file descriptors passed between agents. */
final class Fds {
    private Fds() {}

    static void close(int fd) {
        try {
            new FileDescriptor(fd).close();
        } catch (IOException e) {
            // already closed
        }
    }
}
