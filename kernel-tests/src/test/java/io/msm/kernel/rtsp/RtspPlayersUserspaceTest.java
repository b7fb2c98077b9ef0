package io.msm.kernel.rtsp;

import io.msm.testkit.KernelTest;

/**
 * The same players with the agent in --userspace mode: same client-visible behaviour, copies made
 * by the JVM.
 */
@KernelTest
class RtspPlayersUserspaceTest extends RtspPlayersSuite {
    @Override
    boolean userspace() {
        return true;
    }
}
