/* elfimg.c: ELF symbol and code lookup for probe placement (see elfimg.h).
 * libelf maps the file; we walk the symbol tables linearly, which is fast
 * enough for once-per-binary use, even for a large executable like node. */
#include "capture/elfimg.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct elfimg {
    int fd;
    Elf *elf;
    size_t shstrndx;
};

elfimg *elfimg_open(const char *path)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t shstrndx;
    if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx) != 0) {
        if (e)
            elf_end(e);
        close(fd);
        errno = ENOEXEC;
        return NULL;
    }
    elfimg *img = calloc(1, sizeof(*img));
    if (!img) {
        elf_end(e);
        close(fd);
        return NULL;
    }
    img->fd = fd;
    img->elf = e;
    img->shstrndx = shstrndx;
    return img;
}

void elfimg_close(elfimg *img)
{
    if (!img)
        return;
    elf_end(img->elf);
    close(img->fd);
    free(img);
}

static uint64_t find_in_symtab(elfimg *img, Elf_Scn *scn, const GElf_Shdr *sh, const char *name)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || sh->sh_entsize == 0)
        return 0;
    size_t n = sh->sh_size / sh->sh_entsize;
    for (size_t i = 0; i < n; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(d, (int)i, &sym))
            continue;
        if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || !sym.st_value)
            continue;
        const char *s = elf_strptr(img->elf, sh->sh_link, sym.st_name);
        if (s && strcmp(s, name) == 0)
            return sym.st_value;
    }
    return 0;
}

static uint64_t find_in_type(elfimg *img, Elf64_Word type, const char *name)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(img->elf, scn))) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == type) {
            uint64_t a = find_in_symtab(img, scn, &sh, name);
            if (a)
                return a;
        }
    }
    return 0;
}

uint64_t elfimg_func(elfimg *img, const char *name)
{
    uint64_t a = find_in_type(img, SHT_DYNSYM, name);
    return a ? a : find_in_type(img, SHT_SYMTAB, name);
}

int64_t elfimg_file_offset(elfimg *img, uint64_t vaddr)
{
    size_t n;
    if (elf_getphdrnum(img->elf, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(img->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
            return (int64_t)(vaddr - ph.p_vaddr + ph.p_offset);
    }
    return -1;
}

size_t elfimg_read(elfimg *img, uint64_t vaddr, uint8_t *buf, size_t n)
{
    int64_t off = elfimg_file_offset(img, vaddr);
    if (off < 0)
        return 0;
    ssize_t r = pread(img->fd, buf, n, off);
    return r > 0 ? (size_t)r : 0;
}

static Elf_Scn *section_named(elfimg *img, const char *want, GElf_Shdr *sh)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(img->elf, scn))) {
        if (!gelf_getshdr(scn, sh))
            continue;
        const char *name = elf_strptr(img->elf, img->shstrndx, sh->sh_name);
        if (name && strcmp(name, want) == 0)
            return scn;
    }
    return NULL;
}

int elfimg_in_text(elfimg *img, uint64_t vaddr)
{
    GElf_Shdr sh;
    if (!section_named(img, ".text", &sh))
        return 0;
    return vaddr >= sh.sh_addr && vaddr < sh.sh_addr + sh.sh_size;
}

void elfimg_openssl_version(elfimg *img, char *out, size_t outlen)
{
    static const char key[] = "OpenSSL ";
    GElf_Shdr sh;
    out[0] = 0;
    Elf_Scn *scn = section_named(img, ".rodata", &sh);
    Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
    if (!d || !d->d_buf)
        return;
    const char *p = d->d_buf, *end = p + d->d_size;
    while ((p = memmem(p, end - p, key, sizeof(key) - 1))) {
        const char *v = p + sizeof(key) - 1;
        /* "OpenSSL 3.0.19 27 Jan 2026": a digit, a dot, and a NUL-terminated string */
        if (v + 3 < end && v[0] >= '0' && v[0] <= '9' && v[1] == '.' && (p == d->d_buf || p[-1] == 0)) {
            size_t len = strnlen(p, end - p);
            if (len >= outlen)
                len = outlen - 1;
            memcpy(out, p, len);
            out[len] = 0;
            return;
        }
        p = v;
    }
}
