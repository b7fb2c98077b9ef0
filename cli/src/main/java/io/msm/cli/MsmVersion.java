package io.msm.cli;

import io.msm.bpf.Datapath;
import io.msm.bpf.maps.Meta;
import java.io.IOException;
import java.io.InputStream;
import java.util.HexFormat;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The release of this msm and the datapath layout it reads. */
public final class MsmVersion implements IVersionProvider {
    /** The release, from the jar manifest or the resource Maven filtered. */
    public static String release() {
        String v = MsmVersion.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
        try (InputStream in = MsmVersion.class.getResourceAsStream("msm-version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String r = p.getProperty("version");
                if (r != null && !r.startsWith("${")) {
                    return r;
                }
            }
        } catch (IOException e) {
            // fall through: an unknown version is not worth failing for
        }
        return "unknown";
    }

    /** SHA-256 of the datapath object this msm ships, or null if it is missing. */
    public static String shippedObjectSha() {
        try {
            return HexFormat.of().formatHex(Datapath.sha256(Datapath.objectBytes()));
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public String[] getVersion() {
        String sha = shippedObjectSha();
        return new String[] {
            "msm " + release(),
            "datapath layout version " + Meta.LAYOUT_VERSION,
            "datapath object sha256 " + (sha == null ? "(not in this build)" : sha),
            "java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"
        };
    }
}
