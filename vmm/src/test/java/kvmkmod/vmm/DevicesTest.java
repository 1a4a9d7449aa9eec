package kvmkmod.vmm;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The userspace devices on their own, without a VM. */
class DevicesTest {

    @Test
    void uartTransmitsAndReportsTheTransmitterEmpty() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IoBus bus = new IoBus();
        Serial16550 uart = new Serial16550(0x3f8, out, false);
        bus.register(0x3f8, 8, uart);
        assertThat(bus.read(0x3fd, 1)).isEqualTo(0x60);          // THRE | TEMT, no data
        bus.write(0x3f8, 1, 'h');
        bus.write(0x3f8, 1, 'i');
        assertThat(out.toString()).isEqualTo("hi");
        assertThat(uart.transmitted()).isEqualTo(2);
        assertThat(bus.read(0x3fa, 1) & 0x0f).isEqualTo(1);       // IIR: no interrupt pending
    }

    @Test
    void uartKeepsItsRegistersAndTheDivisorLatch() {
        Serial16550 uart = new Serial16550(0x3f8, new ByteArrayOutputStream(), false);
        uart.ioport_write(0x3f9, 1, 0x05);                          // IER
        uart.ioport_write(0x3ff, 1, 0xa5);                          // SCR
        uart.ioport_write(0x3fc, 1, 0x0b);                          // MCR
        uart.ioport_write(0x3fb, 1, 0x83);                          // LCR with DLAB
        uart.ioport_write(0x3f8, 1, 0x0c);                          // DLL = 12 (9600 baud)
        uart.ioport_write(0x3f9, 1, 0x00);                          // DLM
        assertThat(uart.ioport_read(0x3f8, 1)).isEqualTo(0x0c);
        uart.ioport_write(0x3fb, 1, 0x03);                          // DLAB off
        assertThat(uart.ioport_read(0x3f9, 1)).isEqualTo(0x05);
        assertThat(uart.ioport_read(0x3ff, 1)).isEqualTo(0xa5);
        assertThat(uart.ioport_read(0x3fc, 1)).isEqualTo(0x0b);
        assertThat(uart.ioport_read(0x3fb, 1)).isEqualTo(0x03);
        assertThat(uart.transmitted()).isZero();                    // the DLL write sent nothing
    }

    @Test
    void uartReceivesFedBytesAndLoopsBack() {
        Serial16550 uart = new Serial16550(0x3f8, new ByteArrayOutputStream(), false);
        uart.feed("ok".getBytes());
        assertThat(uart.ioport_read(0x3fd, 1) & 1).isEqualTo(1);   // data ready
        assertThat(uart.ioport_read(0x3f8, 1)).isEqualTo('o');
        assertThat(uart.ioport_read(0x3f8, 1)).isEqualTo('k');
        assertThat(uart.ioport_read(0x3fd, 1) & 1).isZero();
        uart.ioport_write(0x3fc, 1, 0x10);                          // MCR loopback
        uart.ioport_write(0x3f8, 1, 'x');
        assertThat(uart.ioport_read(0x3f8, 1)).isEqualTo('x');
        assertThat(uart.transmitted()).isZero();
    }

    @Test
    void emptyPortsReadAllOnesAndIgnoreWrites() {
        IoBus bus = new IoBus();
        assertThat(bus.read(0x80, 1)).isEqualTo(0xff);
        assertThat(bus.read(0x80, 2)).isEqualTo(0xffff);
        assertThat(bus.read(0x80, 4)).isEqualTo(-1);
        bus.write(0x80, 1, 0x12);
        MmioBus mmio = new MmioBus();
        assertThat(mmio.read(0xfee00000L, 4)).isEqualTo(-1L);
    }

    @Test
    void valuePortServesItsBytes() {
        ValuePort p = new ValuePort(0x1234abcd);
        assertThat(p.ioport_read(0x510, 4)).isEqualTo(0x1234abcd);
        IoBus bus = new IoBus();
        bus.register(0x510, 4, p);
        assertThat(bus.read(0x510, 1)).isEqualTo(0xcd);
        assertThat(bus.read(0x511, 1)).isEqualTo(0xab);
        assertThat(bus.read(0x512, 2)).isEqualTo(0x1234);
        bus.write(0x511, 1, 0x00);
        assertThat(p.value()).isEqualTo(0x123400cd);
    }

    @Test
    void debugPortEchoesBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DebugPort d = new DebugPort(out, false);
        d.ioport_write(0xe9, 1, 'A');
        assertThat(out.toString()).isEqualTo("A");
        assertThat(d.ioport_read(0xe9, 1)).isEqualTo(0xe9);
    }

    @Test
    void portsCannotBeTakenTwice() {
        IoBus bus = new IoBus();
        bus.register(0x60, 1, new CountingPort());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> bus.register(0x5f, 2, new CountingPort()))
                .isInstanceOf(IllegalStateException.class);
    }
}
