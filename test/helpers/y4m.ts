/**
 * A Y4M video (4:2:0, 8-bit) showing one QR code, for Chromium's fake camera
 * (--use-file-for-fake-video-capture). Drawn from the `qrcode` package's module matrix: dark
 * modules at video black, light ones and the 4-module quiet zone at video white.
 */
import QRCode from 'qrcode';

export function qrCodeY4m(text: string, opts: { width?: number; height?: number; frames?: number } = {}): Buffer {
  const width = opts.width ?? 640;
  const height = opts.height ?? 480;
  const frames = opts.frames ?? 5;
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const scale = Math.floor((Math.min(width, height) * 0.9) / (n + 8));
  if (scale < 2) throw new Error(`QR code of ${n} modules does not fit ${width}x${height}`);
  const x0 = Math.floor((width - n * scale) / 2);
  const y0 = Math.floor((height - n * scale) / 2);
  const luma = Buffer.alloc(width * height, 235);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (!qr.modules.get(r, c)) continue;
      for (let dy = 0; dy < scale; dy++) luma.fill(16, (y0 + r * scale + dy) * width + x0 + c * scale, (y0 + r * scale + dy) * width + x0 + (c + 1) * scale);
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`), ...Array.from({ length: frames }, () => frame)]);
}
