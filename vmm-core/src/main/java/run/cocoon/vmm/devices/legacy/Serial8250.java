package run.cocoon.vmm.devices.legacy;

import java.util.ArrayDeque;
import run.cocoon.vmm.devices.InterruptLine;
import run.cocoon.vmm.devices.PioDevice;

/**
 * A 16550A-compatible UART, as much as Linux's 8250 driver uses: transmit (instant, into a
 * {@link ConsoleOutput}), a receive FIFO fed by the host, the interrupt-identification logic,
 * modem-control loopback (the driver's probe checks it) and the divisor latch (stored, ignored).
 */
public final class Serial8250 implements PioDevice {
  /** Registers: 8 consecutive ports. */
  public static final int PORT_COUNT = 8;
  /** The 16550A's receive FIFO depth; input beyond it waits on the host side. */
  public static final int RX_FIFO_BYTES = 64;

  private static final int DATA = 0;       // RBR / THR, DLL with DLAB
  private static final int IER = 1;        // DLM with DLAB
  private static final int IIR_FCR = 2;
  private static final int LCR = 3;
  private static final int MCR = 4;
  private static final int LSR = 5;
  private static final int MSR = 6;
  private static final int SCR = 7;

  private static final int IER_RX_AVAILABLE = 0x01;
  private static final int IER_THR_EMPTY = 0x02;
  private static final int IIR_NONE = 0x01;
  private static final int IIR_THR_EMPTY = 0x02;
  private static final int IIR_RX_AVAILABLE = 0x04;
  private static final int IIR_FIFO_ENABLED = 0xc0;
  private static final int FCR_ENABLE_FIFO = 0x01;
  private static final int FCR_CLEAR_RX = 0x02;
  private static final int LCR_DLAB = 0x80;
  private static final int MCR_LOOPBACK = 0x10;
  private static final int LSR_DATA_READY = 0x01;
  private static final int LSR_THR_EMPTY = 0x20;
  private static final int LSR_TRANSMITTER_EMPTY = 0x40;
  private static final int MSR_CTS = 0x10;
  private static final int MSR_DSR = 0x20;
  private static final int MSR_DCD = 0x80;

  private final ConsoleOutput output;
  private final InterruptLine interrupt;
  private final ArrayDeque<Byte> rx = new ArrayDeque<>(RX_FIFO_BYTES);
  private int ier;
  private int lcr = 0x03; // 8N1
  private int mcr = 0x08; // OUT2: interrupts routed to the PIC
  private int scratch;
  private int divisorLow = 0x0c; // 9600 baud
  private int divisorHigh;
  private boolean fifoEnabled;
  private boolean thrEmptyPending;

  public Serial8250(ConsoleOutput output, InterruptLine interrupt) {
    this.output = output;
    this.interrupt = interrupt;
  }

  @Override
  public synchronized int read(int offset, int size) {
    return switch (offset) {
      case DATA -> (lcr & LCR_DLAB) != 0 ? divisorLow : receive();
      case IER -> (lcr & LCR_DLAB) != 0 ? divisorHigh : ier;
      case IIR_FCR -> interruptIdentification();
      case LCR -> lcr;
      case MCR -> mcr;
      case LSR -> LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY | (rx.isEmpty() ? 0 : LSR_DATA_READY);
      case MSR -> modemStatus();
      case SCR -> scratch;
      default -> 0xff;
    };
  }

  @Override
  public synchronized void write(int offset, int size, int value) {
    value &= 0xff;
    switch (offset) {
      case DATA -> {
        if ((lcr & LCR_DLAB) != 0) {
          divisorLow = value;
        } else {
          transmit((byte) value);
        }
      }
      case IER -> {
        if ((lcr & LCR_DLAB) != 0) {
          divisorHigh = value;
        } else {
          int enabled = value & 0x0f & ~ier;
          ier = value & 0x0f;
          // Enabling the THR-empty interrupt while the THR is empty raises it at once.
          if ((enabled & IER_THR_EMPTY) != 0) {
            thrEmptyPending = true;
          }
          updateInterrupt(enabled != 0);
        }
      }
      case IIR_FCR -> {
        fifoEnabled = (value & FCR_ENABLE_FIFO) != 0;
        if ((value & FCR_CLEAR_RX) != 0) {
          rx.clear();
        }
      }
      case LCR -> lcr = value;
      case MCR -> mcr = value & 0x1f;
      case SCR -> scratch = value;
      default -> { } // LSR and MSR are read-only
    }
  }

  /** Bytes from the host for the guest; returns how many fit into the FIFO. */
  public synchronized int enqueueInput(byte[] bytes, int offset, int length) {
    int accepted = Math.min(length, RX_FIFO_BYTES - rx.size());
    boolean wasEmpty = rx.isEmpty();
    for (int i = 0; i < accepted; i++) {
      rx.add(bytes[offset + i]);
    }
    if (accepted > 0 && wasEmpty) {
      updateInterrupt(true);
    }
    return accepted;
  }

  /** Whether the receive FIFO has room (for the host input pump). */
  public synchronized boolean hasRoom() {
    return rx.size() < RX_FIFO_BYTES;
  }

  private void transmit(byte b) {
    if ((mcr & MCR_LOOPBACK) != 0) {
      if (rx.size() < RX_FIFO_BYTES) {
        rx.add(b);
      }
    } else {
      output.offer(b);
    }
    thrEmptyPending = true; // the byte left at once
    updateInterrupt(true);
  }

  private int receive() {
    Byte b = rx.poll();
    updateInterrupt(false);
    return b == null ? 0 : b & 0xff;
  }

  private int interruptIdentification() {
    int fifo = fifoEnabled ? IIR_FIFO_ENABLED : 0;
    if ((ier & IER_RX_AVAILABLE) != 0 && !rx.isEmpty()) {
      return fifo | IIR_RX_AVAILABLE;
    }
    if ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending) {
      thrEmptyPending = false; // reading IIR acknowledges THR-empty
      return fifo | IIR_THR_EMPTY;
    }
    return fifo | IIR_NONE;
  }

  private int modemStatus() {
    if ((mcr & MCR_LOOPBACK) != 0) {
      // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
      return (mcr & 0x01) << 5 | (mcr & 0x02) << 3 | (mcr & 0x04) << 4 | (mcr & 0x08) << 4;
    }
    return MSR_DCD | MSR_DSR | MSR_CTS;
  }

  /** Raises the line when a condition is pending; edge-triggered, so only on a new cause. */
  private void updateInterrupt(boolean newCause) {
    boolean pending = ((ier & IER_RX_AVAILABLE) != 0 && !rx.isEmpty())
        || ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending);
    if (pending && newCause && (mcr & 0x08) != 0) {
      interrupt.trigger();
    }
  }
}
