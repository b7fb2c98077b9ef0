package io.msm.agent.identity;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** An identity sink that keeps what it was told, and the order it was told in. */
public final class RecordingSink implements IdentitySink {
    public final List<String> calls = new ArrayList<>();
    public final Map<InetAddress, Integer> map = new HashMap<>();
    final Map<Integer, String> names = new HashMap<>();

    @Override
    public synchronized void put(InetAddress addr, int identity) {
        if (identity == Identities.WORLD) {
            throw new AssertionError("put of WORLD for " + addr);
        }
        if (map.containsKey(addr)) {
            throw new AssertionError(
                    addr + " given identity " + identity + " while it still has " + map.get(addr));
        }
        calls.add("put " + addr.getHostAddress() + " " + names.get(identity));
        map.put(addr, identity);
    }

    @Override
    public synchronized void remove(InetAddress addr) {
        calls.add("remove " + addr.getHostAddress());
        map.remove(addr);
    }

    @Override
    public synchronized void name(int identity, String spiffeId) {
        names.put(identity, spiffeId);
    }

    @Override
    public synchronized void forget(int identity) {
        calls.add("forget " + names.get(identity));
        names.remove(identity);
    }

    @Override
    public synchronized void retainOnly(Set<InetAddress> known) {
        calls.add("retainOnly " + known.size());
        map.keySet().retainAll(known);
    }

    public synchronized String nameAt(InetAddress a) {
        Integer id = map.get(a);
        return id == null ? null : names.get(id);
    }
}
