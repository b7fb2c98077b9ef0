package io.msm.kernel.rtsp;

import io.msm.testkit.KernelTest;

/** Real players through the proxy, UDP viewers served by the in-kernel fan-out. */
@KernelTest
class RtspPlayersKernelTest extends RtspPlayersSuite {
    @Override
    boolean userspace() {
        return false;
    }
}
