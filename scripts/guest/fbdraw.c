/*
 * fbdraw: the demo picture for step N, a pure function of (width, height, N)
 * defined here only: 8 vertical stripes, stripe i = palette[(i + N) % 8], and
 * N in black 3x5 block digits in a white box.  run-s3.py runs it with --ppm for
 * the picture the display must show; the frame goes out whole with write(2), so
 * that DRM's fbdev emulation flushes all of it to the virtio-gpu resource.
 *
 * usage: fbdraw N [fbdev]      prints "fbdraw: WxH bpp=B step=N"
 *        fbdraw --ppm W H N     the picture as a binary PPM (P6) on stdout
 * Static build: gcc -static -O2 -o fbdraw fbdraw.c
 */
#include <fcntl.h>
#include <linux/fb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BOX_X 64
#define BOX_Y 64
#define SCALE 16

static const uint32_t palette[8] = {
    0xff0000, 0x00ff00, 0x0000ff, 0xffff00,
    0xff00ff, 0x00ffff, 0xff8000, 0x808080,
};

/* 3x5 digits, rows top to bottom, bit 2 = left column */
static const uint8_t font[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
    {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
    {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
};

static uint32_t pixel_at(unsigned x, unsigned y, unsigned w, unsigned step,
                         const char *digits)
{
    unsigned nd = strlen(digits);
    /* box: 1 cell margin, digits 3 cells wide + 1 cell gap, 5 cells high */
    unsigned bw = (nd * 4 + 1) * SCALE, bh = 7 * SCALE;
    unsigned stripe = x / (w / 8);

    if (stripe > 7)
        stripe = 7;
    if (x >= BOX_X && x < BOX_X + bw && y >= BOX_Y && y < BOX_Y + bh) {
        unsigned cx = (x - BOX_X) / SCALE, cy = (y - BOX_Y) / SCALE;
        if (cx >= 1 && cy >= 1 && cy <= 5) {
            unsigned d = (cx - 1) / 4, col = (cx - 1) % 4;
            if (d < nd && col < 3 &&
                (font[digits[d] - '0'][cy - 1] >> (2 - col)) & 1)
                return 0x000000;
        }
        return 0xffffff;
    }
    return palette[(stripe + step) % 8];
}

static uint32_t pack(uint32_t rgb, const struct fb_var_screeninfo *v)
{
    uint32_t r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
    r >>= 8 - v->red.length;
    g >>= 8 - v->green.length;
    b >>= 8 - v->blue.length;
    return r << v->red.offset | g << v->green.offset | b << v->blue.offset;
}

/* The picture in v's pixel format, bpp bytes a pixel (little-endian) */
static void fill(uint8_t *buf, const struct fb_var_screeninfo *v, size_t stride,
                 unsigned bpp, unsigned step)
{
    char digits[16];
    unsigned x, y;

    snprintf(digits, sizeof(digits), "%u", step);
    for (y = 0; y < v->yres; y++) {
        for (x = 0; x < v->xres; x++) {
            uint32_t p = pack(pixel_at(x, y, v->xres, step, digits), v);
            memcpy(buf + y * stride + x * bpp, &p, bpp);
        }
    }
}

int main(int argc, char **argv)
{
    const char *dev = argc > 2 ? argv[2] : "/dev/fb0";
    /* --ppm: bytes R, G, B */
    struct fb_var_screeninfo v = { .red = {0, 8}, .green = {8, 8}, .blue = {16, 8} };
    struct fb_fix_screeninfo f;
    unsigned step, bpp;
    uint8_t *buf;
    size_t len;
    int fd;

    if (argc == 5 && !strcmp(argv[1], "--ppm")) {
        v.xres = strtoul(argv[2], NULL, 0);
        v.yres = strtoul(argv[3], NULL, 0);
        buf = malloc((size_t)v.xres * v.yres * 3);
        if (!buf)
            return 1;
        fill(buf, &v, v.xres * 3, 3, strtoul(argv[4], NULL, 0));
        printf("P6\n%u %u\n255\n", v.xres, v.yres);
        fwrite(buf, 3, (size_t)v.xres * v.yres, stdout);
        return fflush(stdout) ? 1 : 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: fbdraw N [fbdev] | fbdraw --ppm W H N\n");
        return 2;
    }
    step = strtoul(argv[1], NULL, 0);
    fd = open(dev, O_RDWR);
    if (fd < 0 || ioctl(fd, FBIOGET_VSCREENINFO, &v) ||
        ioctl(fd, FBIOGET_FSCREENINFO, &f)) {
        perror(dev);
        return 1;
    }
    bpp = v.bits_per_pixel / 8;
    if (bpp != 4 && bpp != 2) {
        fprintf(stderr, "fbdraw: unsupported bpp %u\n", v.bits_per_pixel);
        return 1;
    }
    len = (size_t)f.line_length * v.yres;
    buf = calloc(1, len);
    if (!buf)
        return 1;
    fill(buf, &v, f.line_length, bpp, step);
    /* visible area starts at yoffset */
    if (lseek(fd, (off_t)v.yoffset * f.line_length, SEEK_SET) < 0) {
        perror("lseek");
        return 1;
    }
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n <= 0) {
            perror("write");
            return 1;
        }
        done += n;
    }
    printf("fbdraw: %ux%u bpp=%u step=%u\n", v.xres, v.yres,
           v.bits_per_pixel, step);
    close(fd);
    return 0;
}
