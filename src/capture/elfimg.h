/* elfimg.h: just enough ELF reading (through libelf) to place uprobes:
 * find a function symbol, translate its address to a file offset, read its
 * first bytes, and tell whether an address lies in .text. */
#ifndef OISP_CAPTURE_ELFIMG_H
#define OISP_CAPTURE_ELFIMG_H

#include <stddef.h>
#include <stdint.h>

typedef struct elfimg elfimg;

/* Opens an ELF file; NULL with errno set if it is not a readable ELF. */
elfimg *elfimg_open(const char *path);
void elfimg_close(elfimg *img);

/* Address (st_value) of a defined function symbol, from .dynsym, then
 * .symtab; 0 if absent. */
uint64_t elfimg_func(elfimg *img, const char *name);

/* File offset of a virtual address (through the PT_LOAD segments), or -1. */
int64_t elfimg_file_offset(elfimg *img, uint64_t vaddr);

/* Reads up to n bytes of code at vaddr; returns the count read (0 on error). */
size_t elfimg_read(elfimg *img, uint64_t vaddr, uint8_t *buf, size_t n);

/* 1 if vaddr lies inside the section named ".text". */
int elfimg_in_text(elfimg *img, uint64_t vaddr);

/* The OpenSSL version string embedded in the file ("OpenSSL 3.0.19 ..."),
 * or "" when none is found.  Scans .rodata. */
void elfimg_openssl_version(elfimg *img, char *out, size_t outlen);

#endif
