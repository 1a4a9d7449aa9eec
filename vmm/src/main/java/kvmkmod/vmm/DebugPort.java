package kvmkmod.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * The Bochs/QEMU debug console at port 0xe9: each byte written goes to the output sink; a read
 * returns 0xe9 (how guests detect it).
 */
public final class DebugPort implements IoPortDevice {
    public static final int PORT = 0xe9;

    private final OutputStream sink;
    private final boolean flushOnNewline;

    public DebugPort(OutputStream sink, boolean flushOnNewline) {
        this.sink = sink;
        this.flushOnNewline = flushOnNewline;
    }

    @Override public int ioport_read(int port, int size) { return PORT; }

    @Override public void ioport_write(int port, int size, int value) {
        try {
            sink.write(value & 0xff);
            if (flushOnNewline && (value & 0xff) == '\n') sink.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
