/*
 * libqos: guest S3 (suspend to RAM) on the pc and q35 machines
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_PC_S3_H
#define LIBQOS_PC_S3_H

#include "pci.h"

/* The header of a PCI function, as a guest saves it before suspending */
typedef struct QPCISavedHeader {
    uint32_t dw[16];
} QPCISavedHeader;

void qpci_save_header(QPCIDevice *dev, QPCISavedHeader *saved);
/* Restore the BARs and the command register, as a guest does on resume */
void qpci_restore_header(QPCIDevice *dev, const QPCISavedHeader *saved);

/*
 * Enter S3 through the ACPI PM1a control register of the pc (PIIX4) or
 * q35 (ICH9) machine @machine, and wait for the SUSPEND event.
 */
void qtest_pc_suspend_s3(QTestState *qts, QPCIBus *bus, const char *machine);
/* QMP system_wakeup, and wait for the WAKEUP event */
void qtest_pc_wakeup(QTestState *qts);

/*
 * S3 as a guest does it around one PCI function @dev: save its header,
 * suspend, wake up, restore the header.
 */
void qtest_pc_s3_cycle(QTestState *qts, QPCIBus *bus, const char *machine,
                       QPCIDevice *dev);

#endif
