package kvmkmod.include;

import kvmkmod.hw.Platform;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The host kernel a module is loaded into: the machine it runs on and the character devices registered
 * with misc_register. A userspace process reaches it through a {@link Vfs}.
 */
public final class Kernel implements AutoCloseable {
    public final Platform platform;
    private final Map<String, Supplier<File>> miscDevices = new ConcurrentHashMap<>();

    public Kernel(Platform platform) { this.platform = platform; }

    /** misc_register: {@code open} makes the struct file for each open of {@code path}. */
    public int misc_register(String path, Supplier<File> open) {
        return miscDevices.putIfAbsent(path, open) == null ? 0 : -Errno.EBUSY;
    }

    public void misc_deregister(String path) { miscDevices.remove(path); }

    File openDevice(String path) {
        Supplier<File> s = miscDevices.get(path);
        return s == null ? null : s.get();
    }

    /** A new userspace process with an empty file table. */
    public Vfs newProcess() { return new Vfs(this); }

    @Override public void close() { platform.close(); }
}
