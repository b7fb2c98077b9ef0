package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.msm.testkit.KernelTest;
import io.msm.testkit.VerifierBudget;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Each program msm loads (datapath and pod interception) verifies within its budget of processed
 * instructions (kernel-tests/verifier-budget.properties) on the running kernel — on the host and,
 * through the VM runner, on every kernel it boots.
 */
@KernelTest
class VerifierBudgetTest {
    static final List<String> PROGRAMS = VerifierBudget.PROGRAMS;
    static VerifierBudget budget;
    static Map<String, Integer> measured;

    @BeforeAll
    static void measure() {
        budget = VerifierBudget.fromClasspath();
        measured = VerifierBudget.measure();
    }

    @Test
    void everyProgramHasABudget() {
        for (String p : PROGRAMS) {
            assertTrue(
                    budget.budget(p).isPresent(),
                    "no budget.'"
                            + p
                            + "' in verifier-budget.properties: add one (run VerifierReport for today's figure)");
        }
    }

    @ParameterizedTest(name = "{0}")
    @FieldSource("PROGRAMS")
    void programVerifiesWithinItsBudget(String prog) {
        int insns = measured.get(prog);
        assumeTrue(
                insns > 0,
                "kernel "
                        + VerifierBudget.kernelRelease()
                        + " does not report verified instructions (bpf_prog_info.verified_insns came in 5.16)");
        int limit = budget.budget(prog).orElseThrow();
        assertTrue(
                insns <= limit,
                prog
                        + " took the verifier "
                        + insns
                        + " instructions on kernel "
                        + VerifierBudget.kernelRelease()
                        + ", over its budget of "
                        + limit
                        + ": simplify the change (fewer branches or bounded loops) or, if the growth is wanted,"
                        + " raise budget."
                        + prog
                        + " in kernel-tests/verifier-budget.properties");
    }
}
