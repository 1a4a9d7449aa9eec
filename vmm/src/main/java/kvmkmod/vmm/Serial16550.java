package kvmkmod.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * A 16550A UART at eight consecutive ports (COM1: 0x3f8-0x3ff), enough for a polling guest.
 * Transmitted bytes go straight to an output sink; received bytes come from an input buffer that the
 * VMM fills with {@link #feed}. No interrupts are raised (the VMM has no interrupt controller yet).
 *
 * <pre>
 *  +0  RBR (read) / THR (write), or DLL when LCR.DLAB=1
 *  +1  IER, or DLM when LCR.DLAB=1
 *  +2  IIR (read) / FCR (write)
 *  +3  LCR    +4  MCR    +5  LSR    +6  MSR    +7  SCR
 * </pre>
 */
public final class Serial16550 implements IoPortDevice {
    public static final int COM1 = 0x3f8;

    static final int UART_LSR_DR = 0x01;    // data ready
    static final int UART_LSR_THRE = 0x20;  // transmitter holding register empty
    static final int UART_LSR_TEMT = 0x40;  // transmitter empty
    static final int UART_LCR_DLAB = 0x80;
    static final int UART_MCR_LOOP = 0x10;
    static final int UART_IIR_NO_INT = 0x01;

    private final int base;
    private final OutputStream sink;
    private final boolean flushOnNewline;

    private int ier, lcr = 0x03, mcr, scr, fcr, dll = 0x01, dlm;
    private final byte[] rx = new byte[4096];
    private int rxHead, rxCount;
    private long transmitted;

    public Serial16550(int base, OutputStream sink, boolean flushOnNewline) {
        this.base = base;
        this.sink = sink;
        this.flushOnNewline = flushOnNewline;
    }

    /** Queues bytes for the guest to read from RBR; bytes beyond the 4 KiB buffer are dropped. */
    public synchronized void feed(byte[] data) {
        for (byte b : data) {
            if (rxCount == rx.length) return;
            rx[(rxHead + rxCount++) % rx.length] = b;
        }
    }

    public synchronized long transmitted() { return transmitted; }

    @Override public synchronized int ioport_read(int port, int size) {
        switch (port - base) {
            case 0:
                if ((lcr & UART_LCR_DLAB) != 0) return dll;
                if (rxCount == 0) return 0;
                int b = rx[rxHead] & 0xff;
                rxHead = (rxHead + 1) % rx.length;
                rxCount--;
                return b;
            case 1: return (lcr & UART_LCR_DLAB) != 0 ? dlm : ier;
            case 2: return ((fcr & 1) != 0 ? 0xc0 : 0) | UART_IIR_NO_INT;
            case 3: return lcr;
            case 4: return mcr;
            case 5: return UART_LSR_THRE | UART_LSR_TEMT | (rxCount > 0 ? UART_LSR_DR : 0);
            case 6: // loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD; otherwise DCD, DSR, CTS asserted
                return (mcr & UART_MCR_LOOP) != 0
                        ? ((mcr & 2) << 3) | ((mcr & 1) << 5) | ((mcr & 4) << 4) | ((mcr & 8) << 4) : 0xb0;
            case 7: return scr;
            default: return 0xff;
        }
    }

    @Override public synchronized void ioport_write(int port, int size, int value) {
        int v = value & 0xff;
        switch (port - base) {
            case 0:
                if ((lcr & UART_LCR_DLAB) != 0) { dll = v; return; }
                transmit(v);
                return;
            case 1: if ((lcr & UART_LCR_DLAB) != 0) dlm = v; else ier = v & 0x0f; return;
            case 2: fcr = v; if ((v & 0x02) != 0) { rxHead = 0; rxCount = 0; } return;
            case 3: lcr = v; return;
            case 4: mcr = v & 0x1f; return;
            case 7: scr = v; return;
            default: // LSR and MSR are read-only
        }
    }

    private void transmit(int v) {
        if ((mcr & UART_MCR_LOOP) != 0) {   // loopback: what is sent is received
            feed1(v);
            return;
        }
        transmitted++;
        try {
            sink.write(v);
            if (flushOnNewline && v == '\n') sink.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void feed1(int v) {
        if (rxCount < rx.length) rx[(rxHead + rxCount++) % rx.length] = (byte) v;
    }
}
