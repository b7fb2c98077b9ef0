package io.msm.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.libbpf.Errno;
import org.junit.jupiter.api.Test;

class BpfExceptionTest {
    private static final String FILTERED =
            "Name:\tjava\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";
    private static final String UNCONFINED =
            "Name:\tjava\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n";

    @Test
    void epermUnderASeccompFilterIsNamedSeccomp() {
        String hint = BpfException.hintFor(-Errno.EPERM, FILTERED);
        assertEquals(BpfException.SECCOMP_HINT, hint);
        assertTrue(hint.contains("seccomp"), hint);
        assertTrue(hint.contains("Seccomp: 2"), hint);
    }

    @Test
    void epermWithoutAFilterBlamesCapabilities() {
        assertTrue(BpfException.hintFor(Errno.EPERM, UNCONFINED).contains("CAP_BPF"));
        assertTrue(BpfException.hintFor(Errno.EPERM, null).contains("CAP_BPF"));
        // EACCES is the verifier's or a file's: seccomp filters answer EPERM
        assertTrue(BpfException.hintFor(Errno.EACCES, FILTERED).contains("CAP_BPF"));
    }

    @Test
    void seccompModeIsReadFromTheSeccompLine() {
        assertTrue(BpfException.seccompFiltered(FILTERED));
        assertFalse(BpfException.seccompFiltered(UNCONFINED));
        assertFalse(BpfException.seccompFiltered("Seccomp:\t1\n")); // strict mode: not a filter
        assertFalse(BpfException.seccompFiltered("Name:\tjava\n"));
        assertFalse(BpfException.seccompFiltered(null));
    }
}
