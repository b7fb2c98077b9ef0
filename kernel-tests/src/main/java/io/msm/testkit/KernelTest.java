package io.msm.testkit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class that needs root, the bpf() system call and network namespaces. Without them
 * the class is skipped with the reason — except under CI ({@code CI=true}), where it fails: CI runs
 * as root, so a skip there would hide a broken datapath.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(KernelTestCondition.class)
public @interface KernelTest {}
