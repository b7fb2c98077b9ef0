package io.msm.cli.source;

import io.msm.bpf.ProgInfo;

/** A program pinned with the datapath and what the kernel says about it. */
public record PinnedProgram(String name, ProgInfo info) {}
