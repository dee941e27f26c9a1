// Manufacturer IDs (IANA Private Enterprise Numbers) of the BMC vendors a datacenter is likely to hold.

export const IANA_VENDORS: Readonly<Record<number, string>> = {
  2: 'IBM',
  11: 'Hewlett-Packard',
  42: 'Sun Microsystems',
  94: 'Nokia',
  111: 'Oracle',
  311: 'Microsoft',
  343: 'Intel',
  674: 'Dell',
  2011: 'Huawei',
  3704: 'Fujitsu',
  4128: 'ARM',
  4542: 'Alerting Specifications Forum',
  4753: 'MontaVista Software',
  5771: 'Cisco',
  6569: 'Inventec',
  6876: 'VMware',
  7154: 'IBM',
  7244: 'Quanta',
  8554: 'Kontron',
  10437: 'Fujitsu Siemens',
  10876: 'Supermicro',
  11129: 'Google',
  15370: 'Wistron',
  19046: 'Lenovo',
  20301: 'IBM',
  20974: 'American Megatrends',
  28458: 'Hyve Solutions',
  40092: 'Wiwynn',
  40981: 'Facebook',
  42385: 'Inspur',
  47196: 'Hewlett Packard Enterprise',
  49622: 'Ampere Computing',
  52538: 'xFusion',
  57045: 'Gigabyte',
};

/** The vendor name, or null when the number is not in the table. */
export function vendorName(iana: number): string | null {
  return IANA_VENDORS[iana] ?? null;
}
